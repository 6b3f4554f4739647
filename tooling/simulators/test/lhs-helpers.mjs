// Helpers shared by the LSF, HTCondor and Scyld simulator tests: run a fake command with the
// simulator's env, and poll (bounded in count and time) until a condition holds.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * @param {{ env: Record<string, string> }} sim
 * @param {string} command
 * @param {string[]} args
 * @param {{ input?: string, cwd?: string, env?: Record<string, string> }} [options]
 */
export function run(sim, command, args, { input, cwd, env } = {}) {
  const result = spawnSync(command, args, { env: { ...process.env, ...sim.env, ...env }, input: input ?? '', cwd, encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Poll until fn returns a truthy value; throws with the last value after timeoutMs.
 * @template T
 * @param {() => T} fn
 * @param {{ timeoutMs?: number, intervalMs?: number, what?: string }} [options]
 * @returns {Promise<NonNullable<T>>}
 */
export async function waitFor(fn, { timeoutMs = 15_000, intervalMs = 100, what = 'condition' } = {}) {
  const rounds = Math.ceil(timeoutMs / intervalMs);
  let last;
  for (let i = 0; i <= rounds; i++) {
    last = fn();
    if (last) return /** @type {NonNullable<T>} */ (last);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/**
 * Whether a process is alive; a zombie (nobody reaps orphans when PID 1 is not an init) is dead.
 * @param {number} pid
 */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
