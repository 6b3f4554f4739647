/**
 * @cm/slurm: start @cm workers through Slurm.
 * @packageDocumentation
 */
export { SlurmManager, addprocsSlurm, type SlurmOptions } from './slurm-manager.js';
export { slurmDriver, slurmOptionsSchema, SLURM_ALIASES } from './driver.js';
