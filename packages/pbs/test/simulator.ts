/**
 * One PBS simulator (tooling/simulators) per test file, first on this process's PATH: the
 * conformance suite runs qstat/qdel itself, and a master it starts inherits the PATH.
 * Jobs get an empty home, so this machine's login profile stays out of their start time.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSimulator } from '@cm/tooling/simulators';

export type Simulator = ReturnType<typeof createSimulator>;

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
  const sim = createSimulator(kind, { home, killDelaySeconds: 2, ...options });
  const saved = { PATH: process.env.PATH, CM_SIM_DIR: process.env.CM_SIM_DIR };
  Object.assign(process.env, sim.env);
  return {
    sim,
    home,
    logDir,
    async close() {
      process.env.PATH = saved.PATH;
      if (saved.CM_SIM_DIR === undefined) delete process.env.CM_SIM_DIR;
      else process.env.CM_SIM_DIR = saved.CM_SIM_DIR;
      await sim.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** Every regular file under `dir` (bounded depth), for looking for a secret. */
export function filesUnder(dir: string, depth = 8): string[] {
  if (depth === 0) return [];
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) return [];
    return stat.isDirectory() ? filesUnder(file, depth - 1) : stat.isFile() ? [file] : [];
  });
}

/** The files under `dir` whose text contains `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  return filesUnder(dir).filter((file) => readFileSync(file, 'utf8').includes(needle));
}
