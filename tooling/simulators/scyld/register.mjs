// @ts-check
/**
 * The Scyld ClusterWare (BProc) simulator as a kind for createSimulator: no queue, a node
 * table (`nodes` compute nodes of `cpusPerNode` CPUs, `nodeStates` such as `{ 2: 'down' }`,
 * `refuse` node numbers whose mode locks the caller out); failure injection overlays the same
 * shape at run time: `sim.inject({ nodes: { 1: 'down' }, refuse: [2] })`.
 * @module
 */
import { fileURLToPath } from 'node:url';

/** @type {import('../registry.mjs').SimulatorKind} */
export const scyld = {
  binDir: fileURLToPath(new URL('./bin', import.meta.url)),
  submitCommands: ['bpsh'],
  defaults: { nodes: 4, cpusPerNode: 2, nodeStates: {}, refuse: [] },
};
