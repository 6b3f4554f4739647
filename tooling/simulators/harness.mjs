// @ts-check
/**
 * The test harness every driver's simulator tests share: one simulator per test file, first
 * on this process's PATH (the conformance suite runs the scheduler's commands itself, and a
 * master it starts inherits the environment), taken away again with every process it
 * started; plus the bounded waiting and file walking those tests need.
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createSimulator } from './index.mjs';

/** @typedef {ReturnType<typeof createSimulator>} Simulator */

/**
 * Start a simulator and point this process's environment at it (PATH, CM_SIM_DIR and the
 * kind's own variables such as LSF_ENVDIR); `stop()` restores the environment and kills
 * everything the simulator started.
 * @param {Parameters<typeof createSimulator>[0]} kind
 * @param {Record<string, unknown>} [options] the simulator's configuration
 * @returns {{ sim: Simulator, stop: () => Promise<void> }}
 */
export function useSimulator(kind, options = {}) {
  const sim = createSimulator(kind, options);
  const saved = Object.fromEntries(Object.keys(sim.env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, sim.env);
  return {
    sim,
    stop: async () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await sim.close();
    },
  };
}

/**
 * Wait (bounded) until `check` holds; the last failure is thrown when time runs out.
 * @param {() => void | Promise<void>} check
 * @param {number} [timeoutMs]
 */
export async function eventually(check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * Every regular file under `dir` (bounded depth), e.g. to look for a secret.
 * @param {string} dir
 * @param {number} [depth]
 * @returns {string[]}
 */
export function filesUnder(dir, depth = 8) {
  if (depth === 0) return [];
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) return [];
    return stat.isDirectory() ? filesUnder(file, depth - 1) : stat.isFile() ? [file] : [];
  });
}
