/**
 * @cm/core: the protocol, the worker runtime, the Cluster (master) and the manager
 * interface, plus LocalManager for workers on this machine.
 * @packageDocumentation
 */
export { Cluster } from './cluster/cluster.js';
export type { ClusterEvents, LaunchProgressEvent, PmapProgressEvent } from './cluster/types.js';
export {
  SNAPSHOT_VERSION,
  type ClusterSnapshot,
  type EventSnapshot,
  type JobSnapshot,
  type JobStateCount,
  type LaunchSnapshot,
  type LossSnapshot,
  type PmapSnapshot,
  type WorkerSnapshot,
  type WorkerState,
} from './cluster/snapshot.js';
export {
  clusterOptionsSchema,
  addprocsOptionsSchema,
  pmapOptionsSchema,
  callOptionsSchema,
  type ClusterOptions,
  type HeartbeatOptions,
  type AddprocsOptions,
  type PmapOptions,
  type PmapRetryOptions,
  type PmapProgress,
  type CallOptions,
  type CallTarget,
  type SpawnTarget,
} from './cluster/options.js';
export { Future, fetch } from './cluster/future.js';
export { moduleFunction, isModuleFunction, type ModuleFunction, type RemoteFunction } from './cluster/remote-function.js';
export type { ListenAddress, ListenRequest } from './cluster/listener.js';
export {
  RemoteError,
  WorkerLostError,
  ProtocolError,
  FrameTooLargeError,
  FRAME_TOO_LARGE,
  LaunchError,
  UsageError,
  MAX_ERROR_DEPTH,
  type WorkerLossInfo,
  type SerializedError,
} from './errors.js';
export type { ClusterManager, LaunchContext, LaunchProgress, WorkerConfig, WorkerEvent } from './manager/types.js';
export { LocalManager, localManagerOptionsSchema, MAX_LOCAL_WORKERS, type LocalManagerOptions, type CommandWrapper } from './local/local-manager.js';
export { WorkerProcess, type WorkerProcessOptions } from './local/worker-process.js';
export { myid, MASTER_ID } from './worker/identity.js';
export { currentSignal } from './worker/call-context.js';
export { WORKER_ENV } from './worker/env.js';
export { workerEntryPath } from './worker/entry.js';
export { PROTOCOL_VERSION, type ProtocolVersion } from './protocol/version.js';
export { backoffDelays, sleep, type BackoffOptions } from './util/backoff.js';
export { routableAddress, pickRoutableAddress, interfaceAddress, describeInterfaces, type NetworkInterfaces } from './util/address.js';
export { shellQuote, shellJoin } from './util/shell.js';
export { parseOptions } from './util/validate.js';
export type { Logger, LogLevel } from './util/logger.js';
export * from './batch/index.js';
// The documented form of the batch options (the star export above carries the schema's inferred one).
export type { JobQueueOptions } from './batch/job-queue-options.js';
