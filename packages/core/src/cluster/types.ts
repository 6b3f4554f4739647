/**
 * Types of the Cluster's public surface: its events, and how call signatures are inferred
 * from the function passed (inline or moduleFunction).
 * @module
 */
import type { WorkerLossInfo } from '../errors.js';
import type { LaunchProgress, WorkerConfig } from '../manager/types.js';
import type { RemoteFunction } from './remote-function.js';

/** Events a Cluster emits. */
export interface ClusterEvents {
  'worker-joined': [worker: WorkerConfig];
  'worker-lost': [worker: WorkerConfig, loss: WorkerLossInfo];
  'worker-removed': [worker: WorkerConfig];
  output: [output: { workerId: number; stream: 'stdout' | 'stderr'; line: string }];
  'launch-progress': [progress: LaunchProgress & { launchId: string; manager: string }];
  'peer-rejected': [rejection: { remoteAddress: string; reason: string }];
}

/** Argument list of a remote function. */
export type Args<F> = F extends (...args: infer A) => unknown ? A : F extends RemoteFunction<infer A, unknown> ? A : never;
/** Resolved result of a remote function. */
export type Res<F> = F extends (...args: never[]) => infer R ? Awaited<R> : F extends RemoteFunction<never[], infer R> ? Awaited<R> : never;
/** What pmap passes to a remote function: its first argument. */
export type Item<F> = Args<F> extends [infer First, ...unknown[]] ? First : unknown;
