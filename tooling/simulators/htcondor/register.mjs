// @ts-check
/**
 * The HTCondor simulator as a kind for createSimulator: its bin dir and pool defaults
 * (`cpus`/`memoryMb` of the one execute slot: procs asking for more stay Idle, as unmatched
 * jobs do; `monitorHint` for the 25.14+ condor_watch_q hint on stderr).
 * @module
 */
import { fileURLToPath } from 'node:url';

/** @type {import('../registry.mjs').SimulatorKind} */
export const htcondor = {
  binDir: fileURLToPath(new URL('./bin', import.meta.url)),
  submitCommands: ['condor_submit'],
  defaults: { firstJobId: 1, cpus: 64, memoryMb: 262144, killGraceMs: 2000, monitorHint: true },
  parseJobId: (id) => {
    const match = /^(\d+)(?:\.(\d+))?$/.exec(String(id).trim());
    return match ? { id: Number(match[1]), index: match[2] === undefined ? undefined : Number(match[2]) } : undefined;
  },
};
