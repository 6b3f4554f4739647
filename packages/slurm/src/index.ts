/**
 * @cm/slurm: start @cm workers through Slurm.
 * @packageDocumentation
 */
export { SlurmManager, addprocsSlurm, type SlurmOptions } from './slurm-manager.js';
export { slurmDriver, slurmOptionsSchema, parseWalltime, SLURM_ALIASES, SBATCH_OPTION_NAMES } from './driver.js';
export { cmDriver } from './cm-driver.js';
