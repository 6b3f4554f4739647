/**
 * @cm/core: what a user of a cluster imports — the Cluster (master), LocalManager for workers
 * on this machine, the errors calls and launches fail with, and what remote functions use
 * (`myid`, `currentSignal`, and the calls a worker makes: `remotecall`, `pmap`…). Driver machinery is in `@cm/core/driver`, the conformance suite
 * and simq in `@cm/core/testing`.
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
} from './cluster/snapshot-types.js';
export type { PoolSnapshot } from './cluster/pool-snapshot.js';
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
export { imapOptionsSchema, type ImapOptions } from './cluster/imap.js';
export { Future } from './cluster/future.js';
// Calls from inside remote functions (on the master: the open Cluster's methods). `fetch` is
// `fetchFuture` here, so importing it does not shadow the global fetch.
export {
  workers,
  nworkers,
  remotecall,
  remotecallFetch,
  remotecallWait,
  spawnAt,
  pmap,
  everywhere,
  fetchFuture,
  PeerFuture,
  type FutureRef,
  type PeerCallOptions,
  type PeerCallTarget,
  type PeerPmapOptions,
  type RemoteFuture,
} from './worker/peer-api.js';
export { isFutureRef } from './worker/peer-future.js';
export { AdaptHandle } from './cluster/adapt.js';
export { adaptOptionsSchema, type AdaptOptions, type AdaptEvents, type AdaptFigures, type ScaleUpReason } from './cluster/adapt-options.js';
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
  isRemoteError,
  isWorkerLostError,
  isProtocolError,
  isFrameTooLargeError,
  isLaunchError,
  isUsageError,
  MAX_ERROR_DEPTH,
  type WorkerLossInfo,
  type SerializedError,
} from './errors.js';
export type { ClusterManager, LaunchContext, LaunchProgress, TaskStateCount, WorkerConfig, WorkerEvent } from './manager/types.js';
export { LocalManager, localManagerOptionsSchema, MAX_LOCAL_WORKERS, type LocalManagerOptions, type CommandWrapper } from './local/local-manager.js';
export { myid, MASTER_ID } from './worker/identity.js';
export { currentSignal } from './worker/call-context.js';
export { WORKER_ENV } from './worker/env.js';
export { workerEntryPath } from './worker/entry.js';
export { PROTOCOL_VERSION, type ProtocolVersion } from './protocol/version.js';
export type { Logger, LogLevel } from './util/logger.js';
// What users of a batch driver pass and catch; the machinery itself is in `@cm/core/driver`.
export { SchedulerError, isSchedulerError } from './batch/errors.js';
export type { JobQueueOptions } from './batch/job-queue-options.js';
