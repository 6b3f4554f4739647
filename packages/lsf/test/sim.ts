/**
 * The LSF simulator of tooling/simulators, put first on this process's PATH for a test file
 * (the manager runs bsub/bjobs/bkill through its runner with the master's environment, and the
 * conformance suite runs bkill itself), and taken away again with every process it started.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createSimulator } from '@cm/tooling/simulators';

export type Simulator = ReturnType<typeof createSimulator>;

/** Start the simulator and point PATH, CM_SIM_DIR and LSF_ENVDIR at it; `stop()` restores them and kills what it ran. */
export function useSimulator(options: Record<string, unknown> = {}): { sim: Simulator; stop: () => Promise<void> } {
  const sim = createSimulator('lsf', options);
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

/** Wait (bounded) until `check` holds; the last failure is thrown when time runs out. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 20_000): Promise<void> {
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

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : entry.isFile() ? [full] : [];
  });
}
