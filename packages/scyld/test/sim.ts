/**
 * The HTCondor simulator of tooling/simulators, put first on this process's PATH for a test
 * file (the manager runs condor_* through its runner with the master's environment), and
 * taken away again with every process it started.
 */
import { createSimulator } from '@cm/tooling/simulators';

export type Simulator = ReturnType<typeof createSimulator>;

/** Start the simulator and point PATH and CM_SIM_DIR at it; `stop()` restores them and kills what it ran. */
export function useSimulator(kind: 'htcondor' | 'scyld', options: Record<string, unknown> = {}): { sim: Simulator; stop: () => Promise<void> } {
  const sim = createSimulator(kind, options);
  const saved = { PATH: process.env.PATH, CM_SIM_DIR: process.env.CM_SIM_DIR };
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
