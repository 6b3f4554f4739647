/**
 * `@cm/core/driver`: what a driver author builds on — the manager contract, the batch
 * machinery (`JobQueueManager`, `SchedulerDriver`, `ProcessDriver`, runners, flag helpers,
 * site configuration), `WorkerProcess` for long-lived local commands, and the worker's
 * environment. Users of a cluster need none of it: they import `@cm/core`.
 * @packageDocumentation
 */
export type { ClusterManager, LaunchContext, LaunchProgress, TaskStateCount, WorkerConfig, WorkerEvent } from './manager/types.js';
export type { ListenAddress, ListenRequest } from './cluster/listener.js';
export type { CmDriver } from './cli/descriptor.js';
export { WorkerProcess, type WorkerProcessOptions } from './local/worker-process.js';
export { WORKER_ENV } from './worker/env.js';
export { workerEntryPath } from './worker/entry.js';
export { backoffDelays, sleep, type BackoffOptions } from './util/backoff.js';
export { routableAddress, pickRoutableAddress, interfaceAddress, describeInterfaces, type NetworkInterfaces } from './util/address.js';
export { shellQuote, shellJoin } from './util/shell.js';
export { parseOptions } from './util/validate.js';
export * from './batch/index.js';
// The documented form of the batch options (the star export above carries the schema's inferred one).
export type { JobQueueOptions } from './batch/job-queue-options.js';
