/**
 * @cm/htcondor: start @cm workers through HTCondor.
 * @packageDocumentation
 */
export { HTCManager, addprocsHtc, type HTCOptions } from './htcondor-manager.js';
export { htcondorDriver, parseClusterId, parseStatus, renderSubmitDescription, JOB_STATUS, PROC_VAR, CLUSTER_VAR, JOB_PATH } from './driver.js';
export { htcondorOptionsSchema, htcondorSettingsSchema, SUBMIT_COMMAND_NAMES, checkOptions } from './options.js';
export { cmDriver } from './cm-driver.js';
