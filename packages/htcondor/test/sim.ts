/**
 * The htcondor simulator of tooling/simulators for this package's tests, through the harness
 * every driver shares (@cm/tooling/simulators/harness): first on this process's PATH for a
 * test file, taken away again with every process it started.
 */
import { useSimulator as useKind } from '@cm/tooling/simulators/harness';

export { eventually, filesUnder, type Simulator } from '@cm/tooling/simulators/harness';

/** Start the htcondor simulator and point this process's environment at it; `stop()` restores it and kills what it ran. */
export const useSimulator = (options: Record<string, unknown> = {}) => useKind('htcondor', options);

/** The engine's job editor (tooling/simulators/engine.mjs), for what the simulator's API does not offer yet. */
export async function updateJob<T>(dir: string, id: number, edit: (job: T) => void): Promise<void> {
  const engine = new URL('../../../tooling/simulators/engine.mjs', import.meta.url).href;
  const { updateJob: update } = (await import(engine)) as { updateJob: (dir: string, id: number, edit: (job: T) => void) => unknown };
  update(dir, id, edit);
}
