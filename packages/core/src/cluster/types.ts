/**
 * Types of the Cluster's public surface: its events, and how call signatures are inferred
 * from the function passed (inline or moduleFunction).
 * @module
 */
import type { WorkerLossInfo } from '../errors.js';
import type { LaunchProgress, WorkerConfig } from '../manager/types.js';
import type { PmapProgress } from './options.js';
import type { RemoteFunction } from './remote-function.js';

/** A launch's progress as the `launch-progress` event carries it: the manager's report, with the launch's counts. */
export interface LaunchProgressEvent extends LaunchProgress {
  /** The `addprocs` launch it is about. */
  launchId: string;
  /** The manager's name (`local`, `slurm`…). */
  manager: string;
  /** Workers of the launch that have joined so far. */
  joined: number;
  /** Workers the launch waits for. */
  expected: number;
  /** Milliseconds since `addprocs` started the launch. */
  elapsedMs: number;
}

/** A pmap's progress as the `pmap-progress` event carries it: which map, and whether this is its last report. */
export interface PmapProgressEvent extends PmapProgress {
  /** Which pmap of the cluster (1, 2, …), to tell maps that run at the same time apart. */
  pmapId: number;
  /** The worker that started it (a pmap called on a worker); absent for the master's own maps. */
  startedBy?: number;
  /** The map ended (all done, failed or aborted): no more reports about it follow. */
  ended: boolean;
}

/** Events a Cluster emits. */
export interface ClusterEvents {
  /** A worker completed its handshake and can take calls. */
  'worker-joined': [worker: WorkerConfig];
  /** A worker went away unexpectedly (crash, kill, heartbeat timeout, its job ended), with what is known about why. */
  'worker-lost': [worker: WorkerConfig, loss: WorkerLossInfo];
  /** A worker was removed on purpose (`rmprocs`, `close`). */
  'worker-removed': [worker: WorkerConfig];
  /** A line a worker wrote to its stdout or stderr. */
  output: [output: { workerId: number; stream: 'stdout' | 'stderr'; line: string }];
  /** A launch's progress: queue state, counts, elapsed time. */
  'launch-progress': [progress: LaunchProgressEvent];
  /** A pmap's progress: items done of total (at most about ten a second, and once at the end). */
  'pmap-progress': [progress: PmapProgressEvent];
  /** A peer that failed the handshake (wrong secret, unknown launch…); nothing else changes. */
  'peer-rejected': [rejection: { remoteAddress: string; reason: string }];
}

/** Argument list of a remote function. */
export type Args<F> = F extends (...args: infer A) => unknown ? A : F extends RemoteFunction<infer A, unknown> ? A : never;
/** Resolved result of a remote function. */
export type Res<F> = F extends (...args: never[]) => infer R ? Awaited<R> : F extends RemoteFunction<never[], infer R> ? Awaited<R> : never;
/** What pmap passes to a remote function: its first argument. */
export type Item<F> = Args<F> extends [infer First, ...unknown[]] ? First : unknown;
