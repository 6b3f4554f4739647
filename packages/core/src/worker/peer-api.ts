/**
 * Calls from inside remote functions: `workers()`, `nworkers()`, `remotecall`,
 * `remotecallFetch`, `remotecallWait`, `spawnAt`, `fetchFuture`, `pmap` and `everywhere`, with
 * the signatures of the Cluster's methods. On a worker they go through the master (Requests,
 * peer-client.ts), to another worker, to the master itself (`MASTER_ID`), or as a pmap on the
 * cluster's workers. On the master, where one Cluster is open, they are that cluster's methods,
 * so a function that uses them can also be tried out on the master.
 * @module
 */
import { UsageError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import { parseOptions } from '../util/validate.js';
import { z } from 'zod';
import { MASTER_ID, myid } from './identity.js';
import { peerClient } from './peer-client.js';
import { cancelOn } from '../util/give-up.js';
import { type FutureRef, type PeerCallOptions, PeerFuture, type RemoteFuture, isFutureRef, peerCallOptionsSchema, resolvePeerCallOptions } from './peer-future.js';
import { isModuleReference } from './shippable.js';

/** A function or a `moduleFunction(…)` reference (the same shape as `RemoteFunction`). */
type Shippable = ((...args: any[]) => unknown) | { readonly url: string; readonly name: string; readonly __signature?: (...args: any[]) => unknown };
type PeerArgs<F> = F extends (...args: infer A) => unknown ? A : F extends { readonly __signature?: (...args: infer A) => unknown } ? A : never;
type PeerRes<F> = F extends (...args: never[]) => infer R ? Awaited<R> : F extends { readonly __signature?: (...args: never[]) => infer R } ? Awaited<R> : never;
type PeerItem<F> = PeerArgs<F> extends [infer First, ...unknown[]] ? First : unknown;

/** A call's process and, optionally, how to give up on it (as on the master). */
export interface PeerCallTarget extends PeerCallOptions {
  /** The process: `MASTER_ID` (1) or a worker's id. */
  worker: number;
}

/** Options of a `pmap` made on a worker: the master's `PmapOptions` but `progress` (which prints on the master). */
export interface PeerPmapOptions {
  /** Items per call, or `'auto'` (sized by measured time per item). @defaultValue 'auto' */
  batchSize?: number | 'auto' | undefined;
  /** Extra attempts: `{ errors, lostWorkers }`. @defaultValue `{ errors: 0, lostWorkers: 3 }` */
  retry?: { errors?: number | undefined; lostWorkers?: number | undefined } | undefined;
  /** Give up on the map: it rejects with the signal's reason and its calls are cancelled. */
  signal?: AbortSignal | undefined;
  /** Run only on these workers. @defaultValue every worker */
  workers?: number[] | undefined;
  /** Skip workers whose job ends within this many milliseconds. @defaultValue 60000 */
  walltimeMarginMs?: number | undefined;
}

/** The Cluster's methods that these functions stand for on the master. */
interface MasterCluster {
  workers(): number[];
  nworkers(): number;
  remotecall(target: unknown, fn: unknown, ...args: unknown[]): PromiseLike<unknown>;
  remotecallFetch(target: unknown, fn: unknown, ...args: unknown[]): Promise<unknown>;
  remotecallWait(target: unknown, fn: unknown, ...args: unknown[]): Promise<void>;
  spawnAt(target: unknown, fn: unknown, ...args: unknown[]): PromiseLike<unknown>;
  pmap(fn: unknown, items: Iterable<unknown>, options?: unknown): Promise<unknown[]>;
  everywhere(...params: unknown[]): Promise<unknown[]>;
}

const OPEN_CLUSTERS = Symbol.for('@cm/core.openClusters');

/** The Cluster: this cluster is open on this process (it is the master), until it closes. */
export function registerOpenCluster(cluster: MasterCluster): () => void {
  const global = globalThis as Record<symbol, Set<MasterCluster> | undefined>;
  const open = (global[OPEN_CLUSTERS] ??= new Set());
  open.add(cluster);
  return () => open.delete(cluster);
}

/** On the master: the one open Cluster, or a UsageError saying to call its method. */
function masterCluster(caller: string): MasterCluster {
  const open = (globalThis as Record<symbol, Set<MasterCluster> | undefined>)[OPEN_CLUSTERS];
  if (open?.size === 1) return [...open][0]!;
  throw new UsageError(
    `${caller}() was called on the master, where ${open?.size ? `${open.size} clusters are open` : 'no Cluster is open'}; ` +
      `call cluster.${caller}(…) on the Cluster you mean (inside remote functions, ${caller}() reaches the workers)`,
  );
}

const onMaster = (): boolean => myid() === MASTER_ID;

/**
 * The ids of the current workers (the master is 1 and is not among them), as on the master's
 * `cluster.workers()`. On a worker: as the master last said; it says before this worker runs
 * its first function and whenever workers join or leave.
 */
export function workers(): number[] {
  if (onMaster()) return masterCluster('workers').workers();
  return peerClient().peers();
}

/** The number of current workers. */
export function nworkers(): number {
  if (onMaster()) return masterCluster('nworkers').nworkers();
  return peerClient().peers().length;
}

const targetSchema = peerCallOptionsSchema.extend({ worker: z.number().int() }).strict();

function resolveTarget(target: unknown, caller: string): { worker: number; options: PeerCallOptions | undefined } {
  if (typeof target === 'number') {
    if (!Number.isInteger(target)) throw new UsageError(`${caller}: worker id must be an integer, got ${String(target)}`, 'id');
    return { worker: target, options: undefined };
  }
  if (typeof target !== 'object' || target === null) {
    throw new UsageError(`${caller}: the first argument must be a process id or { worker, signal?, timeoutMs? }, got ${describeValue(target)}`, 'id');
  }
  const { worker, ...options } = parseOptions(targetSchema, target, `${caller} target`);
  return { worker, options };
}

/** Send one call and wrap it in a Future that can be given up on, and fetched from other processes. */
function send(caller: string, worker: number, options: PeerCallOptions | undefined, fn: unknown, args: unknown[]): PeerFuture<unknown> {
  const client = peerClient();
  if (options?.signal?.aborted) {
    definitionCheck(fn, caller);
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's reason, whatever it is, as fetch() does
    return new PeerFuture(worker, myid(), 0, Promise.reject(options.signal.reason));
  }
  const { id, promise } = client.request(caller, worker, fn, 'call', args);
  const cancel = (reason: unknown) => client.cancel(id, reason);
  if (options) cancelOn(options, promise, cancel, `${caller} on process ${worker}`);
  const future = new PeerFuture(worker, myid(), client.nextFutureRef(), promise, cancel);
  client.keep(future.futureRef, future);
  return future;
}

function definitionCheck(fn: unknown, caller: string): void {
  if (typeof fn !== 'function' && !isModuleReference(fn)) throw new UsageError(`${caller}: expected a function or a moduleFunction(url, exportName) as fn, got ${describeValue(fn)}`, 'fn');
}

/**
 * Run `fn(...args)` on process `target` — a worker, or `MASTER_ID` (the master runs it
 * itself: a progress report, a request for more input). Returns at once with a Future (on a
 * worker a {@link PeerFuture}, which can also be sent to another process and fetched there
 * with `fetchFuture`). `target` is the id, or
 * `{ worker, signal, timeoutMs }` to be able to give up on the call.
 * @throws UsageError for a function that cannot be shipped or arguments that cannot be sent; the Future rejects with a UsageError for an id that is not the master or a current worker
 */
export function remotecall<F extends Shippable>(target: number | PeerCallTarget, fn: F, ...args: PeerArgs<F>): RemoteFuture<PeerRes<F>> {
  if (onMaster()) return masterCluster('remotecall').remotecall(target, fn, ...args) as RemoteFuture<PeerRes<F>>;
  const { worker, options } = resolveTarget(target, 'remotecall');
  return send('remotecall', worker, options, fn, args) as RemoteFuture<PeerRes<F>>;
}

/** `remotecall` and wait for the value. */
export function remotecallFetch<F extends Shippable>(target: number | PeerCallTarget, fn: F, ...args: PeerArgs<F>): Promise<PeerRes<F>> {
  try {
    if (onMaster()) return masterCluster('remotecallFetch').remotecallFetch(target, fn, ...args) as Promise<PeerRes<F>>;
    const { worker, options } = resolveTarget(target, 'remotecallFetch');
    if (!options) return peerClient().request('remotecallFetch', worker, fn, 'call', args).promise as Promise<PeerRes<F>>;
    return send('remotecallFetch', worker, options, fn, args).fetch() as Promise<PeerRes<F>>;
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** `remotecall` and wait until it has finished; rejects with its error. */
export async function remotecallWait<F extends Shippable>(target: number | PeerCallTarget, fn: F, ...args: PeerArgs<F>): Promise<void> {
  if (onMaster()) return masterCluster('remotecallWait').remotecallWait(target, fn, ...args);
  await remotecall(target, fn, ...args).wait();
}

let nextAny = 0;

/**
 * Like `remotecall`; `'any'` (or `{ worker: 'any', … }`) picks a worker. On a worker, `'any'`
 * takes the workers in turn (as Julia's `@spawnat :any` does); on the master it picks the least busy.
 */
export function spawnAt<F extends Shippable>(target: number | 'any' | (PeerCallOptions & { worker: number | 'any' }), fn: F, ...args: PeerArgs<F>): RemoteFuture<PeerRes<F>> {
  if (onMaster()) return masterCluster('spawnAt').spawnAt(target, fn, ...args) as RemoteFuture<PeerRes<F>>;
  const any = target === 'any' || (typeof target === 'object' && target !== null && target.worker === 'any');
  if (!any) return remotecall(target as number | PeerCallTarget, fn, ...args);
  const ids = peerClient().peers();
  if (ids.length === 0) throw new UsageError('spawnAt: the cluster has no workers', 'id');
  const worker = ids[nextAny++ % ids.length]!;
  return remotecall(typeof target === 'object' ? { ...target, worker } : worker, fn, ...args);
}

/** Inline source run on a Future's owner to fetch it for another process (an ordinary call). */
const FETCH_OWNED = (ref: number, owner: number): Promise<unknown> =>
  (globalThis as unknown as Record<symbol, { fetchOwned(ref: number, owner: number): Promise<unknown> }>)[Symbol.for('@cm/core.peerClient')]!.fetchOwned(ref, owner);

/**
 * The value of a Future — one made here, or one made on another process and sent here (it
 * arrives as a plain `{ workerId, futureOwner, futureRef }`; its owner is asked for the value) —
 * or `value` itself when it is not a Future (as Julia's `fetch`). Options as for `Future.fetch`.
 */
export async function fetchFuture<T>(value: PromiseLike<T> | FutureRef | T, options?: PeerCallOptions): Promise<T> {
  // A Future of this process: the master's (cluster/future.ts) or a worker's (PeerFuture).
  const future = value as { fetch?: unknown; isReady?: unknown; then?: unknown } | null;
  if (typeof future === 'object' && future !== null && typeof future.fetch === 'function' && typeof future.isReady === 'function' && typeof future.then === 'function') {
    return (future as { fetch(o?: PeerCallOptions): Promise<T> }).fetch(options);
  }
  if (!isFutureRef(value)) return value;
  const { futureOwner, futureRef } = value;
  if (futureOwner === myid() && !onMaster()) return peerClient().fetchOwned(futureRef, futureOwner) as Promise<T>;
  const resolved = resolvePeerCallOptions(options, 'fetchFuture');
  return remotecallFetch(resolved ? { worker: futureOwner, ...resolved } : futureOwner, FETCH_OWNED, futureRef, futureOwner) as Promise<T>;
}

const pmapOptionKeys = new Set(['batchSize', 'retry', 'signal', 'workers', 'walltimeMarginMs']);

/**
 * Map `fn` over `items` on the cluster's workers (this one included), as the master's `pmap`
 * does: load balancing, retries, input order. A worker whose call waits on a nested pmap is not
 * counted busy, so a pmap inside a pmap item does not deadlock.
 */
export async function pmap<F extends Shippable>(fn: F, items: Iterable<PeerItem<F>>, options: PeerPmapOptions = {}): Promise<Array<PeerRes<F>>> {
  if (onMaster()) return masterCluster('pmap').pmap(fn, items, options) as Promise<Array<PeerRes<F>>>;
  if (typeof items === 'string' || typeof (items as Partial<Iterable<unknown>> | null | undefined)?.[Symbol.iterator] !== 'function') {
    throw new UsageError(`pmap: items must be an array or iterable, got ${describeValue(items)}`, 'items');
  }
  if (typeof options !== 'object' || options === null) throw new UsageError(`invalid pmap options: expected an options object, got ${describeValue(options)}`, '(options)');
  for (const key of Object.keys(options)) {
    if (!pmapOptionKeys.has(key)) {
      throw new UsageError(`invalid pmap options: \`${key}\` is not an option of a pmap made on a worker (${[...pmapOptionKeys].join(', ')})`, key);
    }
  }
  const { signal, ...rest } = options;
  signal?.throwIfAborted();
  const client = peerClient();
  const { id, promise } = client.request('pmap', MASTER_ID, fn, 'map', [Array.isArray(items) ? items : [...items], rest]);
  if (signal) cancelOn({ signal }, promise, (reason) => client.cancel(id, reason), 'pmap');
  return promise as Promise<Array<PeerRes<F>>>;
}

/**
 * Run `fn(...args)` on every current worker (this one included) and resolve to the results in
 * the order of `workers()`. Pass `{ signal, timeoutMs }` first to be able to give up.
 */
export function everywhere<F extends Shippable>(fn: F, ...args: PeerArgs<F>): Promise<Array<PeerRes<F>>>;
export function everywhere<F extends Shippable>(options: PeerCallOptions, fn: F, ...args: PeerArgs<F>): Promise<Array<PeerRes<F>>>;
export async function everywhere(...params: unknown[]): Promise<unknown[]> {
  if (onMaster()) return masterCluster('everywhere').everywhere(...params);
  const [first] = params;
  const hasOptions = typeof first === 'object' && first !== null && !isModuleReference(first);
  const options = hasOptions ? resolvePeerCallOptions(first, 'everywhere') : undefined;
  const [fn, ...args] = hasOptions ? params.slice(1) : params;
  definitionCheck(fn, 'everywhere');
  const futures = peerClient()
    .peers()
    .map((worker) => send('everywhere', worker, options, fn, args));
  return Promise.all(futures.map((future) => future.fetch()));
}

export type { FutureRef, PeerCallOptions, RemoteFuture };
export { PeerFuture };
