// Shared helpers for the simulator tests: run a fake command like a driver would, wait for a job state.
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSimulator } from '../index.mjs';

export type Simulator = ReturnType<typeof createSimulator>;

/** A simulator plus a fresh submit directory; closed by the caller's afterEach. */
export function setup(kind: 'pbspro' | 'torque', options: Record<string, unknown> = {}) {
  // Jobs run login shells in the execution host's home: an empty one keeps this machine's
  // profile (pyenv, cargo...) out of the tests' timing.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `cm-sim-home-`));
  const sim = createSimulator(kind, { home, ...options });
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), `cm-sim-test-${kind}-`));
  /** Run one of the simulator's commands; never throws on a non-zero exit. */
  const run = async (command: string, args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}) => {
    const result = await execa(command, args, {
      cwd: opts.cwd ?? workdir,
      env: { ...process.env, ...sim.env, ...opts.env },
      extendEnv: false,
      reject: false,
      stripFinalNewline: false,
      ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    });
    return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
  };
  const cleanup = async () => {
    await sim.close();
    fs.rmSync(workdir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  };
  return { sim, workdir, home, run, cleanup };
}

/** Poll until check() returns a value (bounded: at most timeoutMs, 100 ms apart). */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};
