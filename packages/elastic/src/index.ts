/**
 * @cm/elastic: workers that join the master at any time, from any machine that can reach
 * it, started with the command the manager prints (Julia's ElasticManager).
 * @packageDocumentation
 */
export { ElasticManager, elasticManagerOptionsSchema, type ElasticManagerOptions, type ElasticManagerEvents, type TerminatedWorker } from './elastic-manager.js';
export { connectCommand, type ConnectCommandOptions, type ConnectTarget } from './connect-command.js';
export { resolveElasticAddress, type ElasticAddress } from './address.js';
export { loadOrCreateSecret } from './secret-file.js';
export { cmDriver } from './cm-driver.js';
