// @ts-check
/**
 * The two PBS dialects as simulator kinds: one code base (pbs/*.mjs), two bin dirs whose
 * launchers pick the dialect, like Parsl's PBS Pro provider subclassing its Torque one.
 * @module
 */
import { fileURLToPath } from 'node:url';

/** @param {string | number} id */
function parseJobId(id) {
  const match = /^(\d+)(?:\[(\d*)\])?/.exec(String(id));
  return match ? { id: Number(match[1]), index: match[2] ? Number(match[2]) : undefined } : undefined;
}

/** @type {import('../registry.mjs').SimulatorKind} */
export const pbspro = {
  binDir: fileURLToPath(new URL('./pbspro/bin', import.meta.url)),
  submitCommands: ['qsub'],
  defaults: { server: 'pbs', queues: ['workq'], defaultQueue: 'workq', version: '23.06.06', history: true, killDelaySeconds: 10, firstJobId: 1 },
  parseJobId,
};

/** @type {import('../registry.mjs').SimulatorKind} */
export const torque = {
  binDir: fileURLToPath(new URL('./torque/bin', import.meta.url)),
  submitCommands: ['qsub'],
  defaults: { server: 'torque', queues: ['batch'], defaultQueue: 'batch', version: '6.1.3', keepCompletedSeconds: 300, killDelaySeconds: 10, firstJobId: 1 },
  parseJobId,
};
