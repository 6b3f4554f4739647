/**
 * @cm/scyld: start @cm workers on a Scyld ClusterWare (BProc) cluster with beomap and bpsh.
 * @packageDocumentation
 */
export { ScyldManager, addprocsScyld, type ScyldOptions } from './scyld-manager.js';
export { scyldDriver, scyldOptionsSchema, scyldSettingsSchema, parseBeomap, scyldHint, BPSH_OPTION_NAMES, SCYLD_ALIASES } from './driver.js';
export { cmDriver } from './cm-driver.js';
