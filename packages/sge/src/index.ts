/**
 * @cm/sge: start @cm workers through Grid Engine (qsub job arrays, or qrsh per worker).
 * @packageDocumentation
 */
export { SGEManager, addprocsSge, type SgeOptions } from './sge-manager.js';
export { QRSHManager, addprocsQrsh } from './qrsh-manager.js';
export { sgeDriver, sgeHint, sgeSaid, sgeRunningLimit, SGE_TRANSIENT } from './driver.js';
export { qrshDriver, remoteLine } from './qrsh.js';
export {
  sgeOptionsSchema,
  sgeSettingsSchema,
  sgeOptionFlags,
  parseTime,
  walltimeOf,
  QSUB_OPTION_NAMES,
  QRSH_OPTION_NAMES,
  SGE_ALIASES,
  type SgeSettings,
  type SgeSettingsInput,
  type SgeTypedOptions,
} from './options.js';
export { parseQstatXml, parseSubmitId, parseErrorReason, expandTasks, canonicalState, stateKind, stateReason, stateTable } from './qstat.js';
export { cmDriver } from './cm-driver.js';
