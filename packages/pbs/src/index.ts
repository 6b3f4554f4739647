/**
 * @cm/pbs: start @cm workers through PBS Professional / OpenPBS or Torque.
 * @packageDocumentation
 */
export { PBSManager, addprocsPbs, type PbsOptions } from './pbs-manager.js';
export { pbsProDriver, torqueDriver, torqueSlurmDriver, pbsDriverFor, detectDialect, dialectOf } from './driver.js';
export {
  pbsOptionsSchema,
  pbsSettingsSchema,
  parseWalltime,
  formatWalltime,
  PBS_ALIASES,
  PBS_FLAG_NAMES,
  PBS_PRO_QSUB_OPTIONS,
  TORQUE_QSUB_OPTIONS,
  TORQUE_SLURM_QSUB_OPTIONS,
  PBS_DIALECTS,
  type PbsDialect,
  type PbsTypedOptions,
} from './options.js';
export { PBS_PRO_STATES, TORQUE_STATES, TORQUE_SLURM_STATES, parseProJson, parseTorqueText, splitJobId, exitMeaning } from './status.js';
export { cmDriver } from './cm-driver.js';
