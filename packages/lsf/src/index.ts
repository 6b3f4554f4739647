/**
 * @cm/lsf: start @cm workers through IBM Spectrum LSF (or OpenLava).
 * @packageDocumentation
 */
export { LSFManager, addprocsLsf, type LSFOptions } from './lsf-manager.js';
export { createLsfDriver, lsfDriver, lsfOptionsSchema, lsfSettingsSchema, type LsfSettings } from './driver.js';
export { BSUB_OPTION_NAMES, LSF_ALIASES, bsubFlag } from './bsub.js';
export { LSF_STATES, TERMINATION_REASONS, bjobsCommand, classifyLsfStatus, nothingLeftToKill, parseBjobs, terminationReason } from './bjobs.js';
export { MEMORY_UNITS, type MemoryUnit, memoryIn, runLimitSeconds, unitFromLsfConf, withMemoryReservation } from './limits.js';
export { cmDriver } from './cm-driver.js';
