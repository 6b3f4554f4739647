// Helpers for the LSF, HTCondor and Scyld simulator tests: start a simulator (closed after each
// test), run one of its fake commands synchronously like a driver's shell-out, poll a condition.
import { execaSync } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { createSimulator } from '../index.mjs';

export type Simulator = ReturnType<typeof createSimulator>;

/** A simulator factory whose simulators are all closed after each test. */
export function simulators(kind: 'lsf' | 'htcondor' | 'scyld') {
  const open: Simulator[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const sim of open.splice(0)) await sim.close();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    start: (options: Record<string, unknown> = {}) => {
      const sim = createSimulator(kind, options);
      open.push(sim);
      return sim;
    },
    /** A fresh submit directory holding the given files (mode 755), removed after the test. */
    workDir: (files: Record<string, string> = {}) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cm-${kind}-test-`));
      dirs.push(dir);
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 });
      return dir;
    },
    /** Close now (the test checks what close() left behind). */
    close: async (sim: Simulator) => {
      open.splice(open.indexOf(sim), 1);
      await sim.close();
    },
  };
}

/** Run a simulator command; never throws on a non-zero exit. */
export function run(sim: Simulator, command: string, args: string[], { input, cwd, env }: { input?: string; cwd?: string; env?: Record<string, string> } = {}) {
  const result = execaSync(command, args, { env: { ...process.env, ...sim.env, ...env }, extendEnv: false, input: input ?? '', cwd, reject: false, stripFinalNewline: false, timeout: 20_000 });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Poll until fn returns a truthy value (bounded: timeoutMs, intervalMs apart); throws with the last value. */
export async function waitFor<T>(fn: () => T, { timeoutMs = 15_000, intervalMs = 100, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const rounds = Math.ceil(timeoutMs / intervalMs);
  let last: T | undefined;
  for (let i = 0; i <= rounds; i++) {
    last = fn();
    if (last) return last as NonNullable<T>;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/** Whether a process is alive; a zombie (PID 1 here does not reap orphans) counts as dead. */
export function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
