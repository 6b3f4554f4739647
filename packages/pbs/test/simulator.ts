/**
 * One PBS simulator (tooling/simulators) per test file, first on this process's PATH: the
 * conformance suite runs qstat/qdel itself, and a master it starts inherits the PATH.
 * Jobs get an empty home, so this machine's login profile stays out of their start time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Simulator, filesUnder, useSimulator as useKind } from '@cm/tooling/simulators/harness';

export { filesUnder, type Simulator };

/** A simulator on PATH with its job home and a log directory; `close` restores PATH and removes them. */
export interface SimulatorEnv {
  sim: Simulator;
  home: string;
  logDir: string;
  close(): Promise<void>;
}

export function useSimulator(kind: 'pbspro' | 'torque', options: Record<string, unknown> = {}): SimulatorEnv {
  const home = mkdtempSync(path.join(os.tmpdir(), `cm-pbs-home-`));
  const logDir = mkdtempSync(path.join(os.tmpdir(), `cm-pbs-logs-${kind}-`));
  const { sim, stop } = useKind(kind, { home, killDelaySeconds: 2, ...options });
  return {
    sim,
    home,
    logDir,
    async close() {
      await stop();
      rmSync(home, { recursive: true, force: true });
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** The files under `dir` whose text contains `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  return filesUnder(dir).filter((file) => readFileSync(file, 'utf8').includes(needle));
}
