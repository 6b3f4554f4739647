/**
 * The master's public face: the `Cluster` class users hold. It validates what they ask and
 * wires together the parts that do the work: the launch book (launch-book.ts), worker
 * admission (admission.ts), the worker table (worker-roster.ts), departures (departures.ts),
 * the heartbeat loop (liveness.ts), call sending (call-dispatch.ts), maps, routing, adapting.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { UsageError, type WorkerLossInfo } from '../errors.js';
import type { ClusterManager, WorkerConfig } from '../manager/types.js';
import { describeValue } from '../util/describe.js';
import { holdOpen } from '../util/keep-alive.js';
import { LevelLogger, stderrLogger } from '../util/logger.js';
import { parseOptions } from '../util/validate.js';
import { resolveCallOptions, resolveSpawnTarget, resolveTarget } from './calls.js';
import type { Future } from './future.js';
import { LaunchBook } from './launch-book.js';
import { type ListenAddress, MasterListener } from './listener.js';
import {
  type AddprocsOptions,
  type CallOptions,
  type CallTarget,
  type ClusterOptions,
  type PmapOptions,
  type ResolvedClusterOptions,
  type ResolvedPmapOptions,
  type SpawnTarget,
  addprocsOptionsSchema,
  clusterOptionsSchema,
  pmapOptionsSchema,
} from './options.js';
import { type AdaptHandle, type AdaptHost, type AdaptOptions, startAdapting } from './adapt.js';
import { DemandBoard } from './demand.js';
import { ImapIterator, type ImapOptions, imapOptionsSchema } from './imap.js';
import { type PmapHost, runPmap } from './pmap.js';
import { PmapProgressReporter } from './pmap-progress.js';
import { RejectionLog } from './rejections.js';
import { CallRouter } from './router.js';
import { registerOpenCluster } from '../worker/peer-api.js';
import type { ClusterSnapshot } from './snapshot-types.js';
import { SnapshotRecorder } from './snapshot.js';
import { FunctionRegistry, type PreparedFunction, type RemoteFunction, isModuleFunction } from './remote-function.js';
import type { Args, ClusterEvents, Item, Res } from './types.js';
import { WorkerAdmission } from './admission.js';
import { CallDispatch } from './call-dispatch.js';
import { WorkerDepartures } from './departures.js';
import { LivenessWatch } from './liveness.js';
import type { WorkerHandle } from './worker-handle.js';
import { WorkerOutput } from './worker-output.js';
import { WorkerRoster } from './worker-roster.js';

/**
 * A cluster: the master process and the worker processes it drives (Julia's Distributed,
 * with ClusterManagers.jl's managers).
 *
 * Workers are started by a {@link ClusterManager} (`LocalManager`, or a batch scheduler's:
 * Slurm, SGE, PBS, LSF, HTCondor, Scyld) through {@link Cluster.addprocs}, and dial back to
 * the master over TCP; functions run on them with `remotecall`, `remotecallFetch`,
 * `spawnAt`, `everywhere` and `pmap`. Inline functions travel as source and see only their
 * arguments and globals; `moduleFunction(url, name)` refers to real code every worker imports.
 *
 * Every call can be given up on (`{ worker, signal, timeoutMs }`); options are validated before
 * anything starts (unknown names are refused with the closest known one); `close()` (or
 * `await using`) stops every worker, process and job the cluster started.
 *
 * Events: `worker-joined`, `worker-lost`, `worker-removed`, `output`, `launch-progress`,
 * `pmap-progress`, `peer-rejected` (see {@link ClusterEvents}). Debug output:
 * `NODE_DEBUG=cm` or `DEBUG=cm`.
 *
 * @example
 * ```ts
 * import { Cluster, LocalManager } from '@cm/core';
 *
 * await using cluster = new Cluster();
 * const [first] = await cluster.addprocs(new LocalManager(2)); // [2, 3]
 * console.log(await cluster.pmap((x: number) => x * x, [1, 2, 3])); // [1, 4, 9]
 * const sum = await cluster.remotecallFetch({ worker: first!, timeoutMs: 5_000 }, (a: number, b: number) => a + b, 2, 3); // 5
 * ```
 */
export class Cluster extends EventEmitter<ClusterEvents> implements AsyncDisposable {
  readonly #options: ResolvedClusterOptions;
  readonly #secret: Buffer;
  readonly #logger: LevelLogger;
  readonly #rejections: RejectionLog;
  readonly #listener: MasterListener;
  readonly #roster = new WorkerRoster();
  readonly #launches: LaunchBook;
  readonly #functions = new FunctionRegistry();
  /** Counts pmaps, so their progress events can be told apart. */
  #pmapCount = 0;
  readonly #recorder: SnapshotRecorder;
  /** The work maps and calls hold, which adaptive pools follow. */
  readonly #demand = new DemandBoard();
  #closing: Promise<void> | undefined;
  /** Calls made by workers (router.ts). */
  readonly #router: CallRouter;
  readonly #departures: WorkerDepartures;
  readonly #liveness: LivenessWatch;
  readonly #admission: WorkerAdmission;
  readonly #dispatch: CallDispatch;
  readonly #output: WorkerOutput;
  readonly #unregister: () => void;

  /** @throws UsageError naming the invalid option */
  constructor(options: ClusterOptions = {}) {
    super();
    this.#options = parseOptions(clusterOptionsSchema, options, 'Cluster options');
    this.#secret = this.#options.secret ? Buffer.from(this.#options.secret, 'base64url') : randomBytes(32);
    const { logger, logLevel } = this.#options;
    this.#logger = new LevelLogger(logger ?? stderrLogger, logLevel ?? (logger ? 'info' : 'warn'));
    this.#rejections = new RejectionLog(this.#logger);
    this.#launches = new LaunchBook({
      logger: this.#logger,
      encrypt: this.#options.encrypt,
      secret: this.#secret,
      events: this,
      removeWorkers: (ids) => this.rmprocs(ids.filter((id) => this.#roster.find(id) !== undefined)),
    });
    this.#listener = new MasterListener(
      this.#options,
      { encrypt: this.#options.encrypt, secret: this.#secret },
      (socket) => this.#admission.accept(socket),
      (remoteAddress, reason) => this.#rejected(remoteAddress, reason),
    );
    this.#router = new CallRouter({
      handle: (id, caller) => this.#roster.expect(id, caller),
      workers: () => this.#roster.handles(),
      functions: this.#functions,
      topology: this.#options.topology,
      map: (fn, items, options, startedBy) => this.#trackedMap(fn, items, options, startedBy),
    });
    this.#dispatch = new CallDispatch(this.#roster, this.#functions);
    this.#output = new WorkerOutput(this.#options.onOutput, this);
    const lost = (handle: WorkerHandle, loss: WorkerLossInfo) => void this.#departures.lost(handle, loss);
    this.#departures = new WorkerDepartures({
      roster: this.#roster,
      router: this.#router,
      logger: this.#logger,
      launches: this.#launches,
      shutdownGraceMs: this.#options.shutdownGraceMs,
      events: this,
    });
    this.#liveness = new LivenessWatch(this.#roster, this.#options.heartbeat, this.#logger, lost);
    this.#admission = new WorkerAdmission({
      options: this.#options,
      secret: this.#secret,
      logger: this.#logger,
      launches: this.#launches,
      roster: this.#roster,
      router: this.#router,
      liveness: this.#liveness,
      events: this,
      closed: () => this.#closing !== undefined,
      rejected: (remoteAddress, reason) => this.#rejected(remoteAddress, reason),
      lost,
      output: (workerId, stream, lines) => this.#output.deliver(workerId, stream, lines),
    });
    // Top-level remotecall, pmap… (peer-api.ts) on the master are this cluster's, while it is the only one open.
    this.#unregister = registerOpenCluster(this);
    this.#recorder = new SnapshotRecorder(this, { worker: (id) => this.#roster.find(id), launch: (id) => this.#launches.get(id), closed: () => this.#closing !== undefined });
  }

  /**
   * What the cluster is doing now, as a plain, versioned object (`version: 1`): workers with
   * their state, calls, CPU and memory; launches with their jobs' states; running pmaps; recent
   * losses with the scheduler's verdict; recent events. It is what the cluster's events add up
   * to (see {@link ClusterSnapshot}); `@cm/dashboard` shows it in a browser.
   */
  snapshot(): ClusterSnapshot {
    return this.#recorder.snapshot();
  }

  /**
   * Start listening (normally done by the first `addprocs`) and return the address workers
   * dial. `network: true` listens where other machines can reach it.
   */
  listen(options: { network?: boolean } = {}): Promise<ListenAddress> {
    this.#assertOpen('listen');
    return this.#listener.address(options.network ?? false);
  }

  /**
   * Start workers with `manager` and wait until all of them have joined.
   * On failure, timeout or abort, everything the launch started is stopped and removed.
   * @returns the new workers' ids
   * @throws LaunchError when the workers could not be started; UsageError for bad options
   */
  async addprocs(manager: ClusterManager, options: AddprocsOptions = {}): Promise<number[]> {
    const opts = parseOptions(addprocsOptionsSchema, options, 'addprocs options');
    this.#assertOpen('addprocs');
    if (!manager || typeof manager.launch !== 'function' || typeof manager.name !== 'string') {
      throw new UsageError('addprocs: the first argument must be a ClusterManager (an object with name, expectedWorkers and launch())', 'manager');
    }
    if (!Number.isInteger(manager.expectedWorkers) || manager.expectedWorkers < 0) {
      throw new UsageError(`addprocs: ${manager.name} manager has expectedWorkers = ${String(manager.expectedWorkers)}; it must be a whole number >= 0`, 'manager');
    }
    opts.signal?.throwIfAborted();
    const master = await this.#listener.address(manager.needsRoutableAddress ?? false, manager.listen);
    opts.signal?.throwIfAborted(); // listening may have taken a moment
    return this.#launches.run(manager, master, opts);
  }

  /**
   * Ask workers to exit, and make their managers stop them if they do not within
   * `shutdownGraceMs`. Calls still in flight on them reject with WorkerLostError.
   * @throws UsageError for an id that is not a current worker (nothing is removed then)
   */
  async rmprocs(ids: number | readonly number[]): Promise<void> {
    const list = typeof ids === 'number' ? [ids] : [...ids];
    const handles = list.map((id) => this.#roster.expect(id, 'rmprocs'));
    await Promise.all(handles.map((handle) => this.#departures.remove(handle, { reason: 'removed', detail: 'removed by rmprocs' })));
  }

  /** Ids of the current workers, in the order they joined. Empty when there are none (the master is id 1). */
  workers(): number[] {
    return this.#roster.ids();
  }

  /** Number of current workers. */
  nworkers(): number {
    return this.#roster.size;
  }

  /** What the master knows about a worker (host, pid, job id, task index…). */
  worker(id: number): WorkerConfig {
    return this.#roster.expect(id, 'worker').config;
  }

  /**
   * Run `fn(...args)` on a worker. Returns at once with a Future.
   *
   * `target` is the worker's id, or `{ worker, signal, timeoutMs }` to be able to give up on
   * the call: then it rejects with the signal's reason (a `TimeoutError` DOMException after
   * `timeoutMs`) and the worker is told to abandon it (the function's `currentSignal()` aborts).
   * @throws UsageError for an unknown or removed worker, a function that cannot be shipped, or arguments that cannot be cloned
   */
  remotecall<F extends RemoteFunction>(target: number | CallTarget, fn: F, ...args: Args<F>): Future<Res<F>> {
    const { worker, options } = resolveTarget(target, 'remotecall');
    return this.#dispatch.future(worker, options, fn, args, 'remotecall') as Future<Res<F>>;
  }

  /** `remotecall` and wait for the value. `target` as for `remotecall`. */
  remotecallFetch<F extends RemoteFunction>(target: number | CallTarget, fn: F, ...args: Args<F>): Promise<Res<F>> {
    try {
      // The common case goes straight to the wire: no Future, no timers.
      if (typeof target === 'number') return this.#dispatch.call(target, fn, args, 'remotecallFetch') as Promise<Res<F>>;
      const { worker, options } = resolveTarget(target, 'remotecallFetch');
      return this.#dispatch.future(worker, options, fn, args, 'remotecallFetch').fetch() as Promise<Res<F>>;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * `remotecall` and wait until it has finished; rejects with its error. Julia's version
   * returns the Future; here use `const f = cluster.remotecall(…); await f.wait()` when you
   * also want the value later (a Promise cannot resolve to an awaitable Future).
   */
  async remotecallWait<F extends RemoteFunction>(target: number | CallTarget, fn: F, ...args: Args<F>): Promise<void> {
    await this.remotecall(target, fn, ...args).wait();
  }

  /**
   * Like `remotecall`; `'any'` (or `{ worker: 'any', signal, timeoutMs }`) picks the least
   * busy worker (Julia's `@spawnat :any`).
   */
  spawnAt<F extends RemoteFunction>(target: number | 'any' | SpawnTarget, fn: F, ...args: Args<F>): Future<Res<F>> {
    const { worker, options } = resolveSpawnTarget(target, 'spawnAt');
    if (worker !== 'any') return this.#dispatch.future(worker, options, fn, args, 'spawnAt') as Future<Res<F>>;
    // A call waiting on calls of its own (a nested pmap) does not make its worker busy.
    const idle = [...this.#roster.handles()].sort((a, b) => a.inFlight - a.waiting - (b.inFlight - b.waiting))[0];
    if (!idle) throw new UsageError('spawnAt: the cluster has no workers; call addprocs first', 'id');
    return this.#dispatch.future(idle.id, options, fn, args, 'spawnAt') as Future<Res<F>>;
  }

  /**
   * Run `fn(...args)` on every current worker (Julia's `@everywhere`), e.g. to load a module
   * or set up state. Resolves to the results in the order of `workers()`. Pass
   * `{ signal, timeoutMs }` first to be able to give up (every worker's call is cancelled).
   */
  everywhere<F extends RemoteFunction>(fn: F, ...args: Args<F>): Promise<Array<Res<F>>>;
  everywhere<F extends RemoteFunction>(options: CallOptions, fn: F, ...args: Args<F>): Promise<Array<Res<F>>>;
  async everywhere(...params: unknown[]): Promise<unknown[]> {
    const [first] = params;
    const hasOptions = typeof first === 'object' && first !== null && !isModuleFunction(first);
    const options = hasOptions ? resolveCallOptions(first, 'everywhere') : undefined;
    const [fn, ...args] = hasOptions ? params.slice(1) : params;
    this.#functions.prepare(fn, 'everywhere'); // refused even when there are no workers to send it to
    const futures = this.workers().map((id) => this.#dispatch.future(id, options, fn, args, 'everywhere'));
    return Promise.all(futures.map((future) => future.fetch()));
  }

  /**
   * Map `fn` over `items` on all workers with dynamic load balancing; results come back in
   * input order. Items lost with a worker are re-run on the others.
   * @throws RemoteError for an item that failed (after `retry.errors` extra attempts)
   */
  async pmap<F extends RemoteFunction>(fn: F, items: Iterable<Item<F>>, options: PmapOptions = {}): Promise<Array<Res<F>>> {
    const opts = parseOptions(pmapOptionsSchema, options, 'pmap options');
    const prepared = this.#functions.prepare(fn, 'pmap');
    if (typeof items === 'string' || typeof (items as Partial<Iterable<unknown>> | null | undefined)?.[Symbol.iterator] !== 'function') {
      throw new UsageError(`pmap: items must be an array or iterable, got ${describeValue(items)}`, 'items');
    }
    const list = Array.isArray(items) ? (items as unknown[]) : [...items];
    opts.signal?.throwIfAborted();
    return (await this.#trackedMap(prepared, list, opts, undefined)) as Array<Res<F>>;
  }

  /** A pmap of the master's or of a worker's (`startedBy`): numbered, followed by pools, reported as `pmap-progress`. */
  async #trackedMap(prepared: PreparedFunction, list: readonly unknown[], opts: ResolvedPmapOptions, startedBy: number | undefined): Promise<unknown[]> {
    const pmapId = ++this.#pmapCount;
    let ending = false;
    const progress = new PmapProgressReporter(
      list.length,
      opts.progress,
      (update) => this.emit('pmap-progress', { ...update, pmapId, ...(startedBy === undefined ? {} : { startedBy }), ended: ending || update.done === update.total }),
      () => this.listenerCount('pmap-progress') > 0,
    );
    try {
      return await runPmap({ ...this.#mapHost(), onProgress: progress.active ? (done, workers) => progress.update(done, workers) : undefined }, prepared, list, opts);
    } finally {
      ending = true;
      progress.finish();
    }
  }

  /**
   * Map `fn` over an iterable or async iterable of any length, as an async iterator of
   * results (input order, or as completed with `ordered: false`). Items are pulled only as
   * workers have room: at most `maxPending` are held at once. Same retries and loss handling
   * as `pmap`; `break` cancels what runs and closes the input. An input that throws ends the
   * iteration with its error. `next()` may be called again before an answer: calls are answered in order.
   * @throws RemoteError (from the iterator) for an item that failed (after `retry.errors` extra attempts)
   */
  imap<F extends RemoteFunction>(fn: F, items: Iterable<Item<F>> | AsyncIterable<Item<F>>, options: ImapOptions = {}): AsyncIterableIterator<Res<F>> {
    const opts = parseOptions(imapOptionsSchema, options, 'imap options');
    return new ImapIterator<Res<F>>(this.#mapHost(), this.#functions.prepare(fn, 'imap'), items, opts);
  }

  /** What pmap and imap need of the cluster: its workers, word of new ones, and the demand they add to. */
  #mapHost(): PmapHost {
    return {
      activeWorkers: () => [...this.#roster.handles()],
      onWorkerJoined: (listener) => {
        this.on('worker-joined', listener);
        const unwake = this.#demand.onWake(listener);
        return () => {
          this.off('worker-joined', listener);
          unwake();
        };
      },
      registerDemand: (waiting) => this.#demand.register(waiting),
      workersComing: () => this.#demand.workersComing(),
    };
  }

  /**
   * Keep between `minimum` and `maximum` workers of `manager`, following the work the cluster
   * holds: grow (one launch per decision) when maps and calls wait, cancel queued jobs and
   * retire idle workers when the work is gone. See {@link AdaptOptions} and docs/adaptive.md.
   * The manager must support `withWorkers` (LocalManager, every batch driver, LocalAffinityManager).
   * @returns a handle with `stop()` (also `await using`) and events
   * @throws UsageError for bad options, or a manager that cannot be adapted
   */
  adapt(manager: ClusterManager, options: AdaptOptions = {}): AdaptHandle {
    this.#assertOpen('adapt');
    const pool = startAdapting(this.#adaptHost(), manager, options);
    this.#recorder.watchPool(pool, manager.name);
    return pool;
  }

  #adaptHost(): AdaptHost {
    return {
      demand: this.#demand,
      cluster: this,
      logger: this.#logger,
      workers: () => [...this.#roster.handles()],
      addprocs: (manager, options) => this.addprocs(manager, options),
      launchOf: (manager) => this.#launches.of(manager),
      retire: (id, detail) => {
        const handle = this.#roster.find(id);
        // Checked and removed in one turn: no call can be sent to it in between.
        if (!handle || handle.inFlight > 0) return false;
        void this.#departures.remove(handle, { reason: 'removed', detail });
        return true;
      },
      closed: () => this.#closing !== undefined,
    };
  }

  /** Remove every worker, stop every manager's jobs and processes, and stop listening. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#unregister();
    // The program awaits close(); what it waits on (workers exiting, managers' processes and
    // jobs ending) are unref'd handles, which alone would let Node exit mid-close.
    const release = holdOpen();
    try {
      await this.#closeAll();
    } finally {
      release();
    }
  }

  async #closeAll(): Promise<void> {
    this.#launches.failAll();
    this.#admission.abandonHandshakes();
    await Promise.all([...this.#roster.handles()].map((handle) => this.#departures.remove(handle, { reason: 'cluster-closed', detail: 'the cluster was closed' })));
    await this.#launches.shutdownManagers();
    this.#liveness.stop();
    await this.#listener.close();
    this.#rejections.flush();
  }

  #assertOpen(what: string): void {
    if (this.#closing) throw new UsageError(`${what}: the cluster is closed; create a new Cluster`);
  }

  #rejected(remoteAddress: string, reason: string): void {
    this.#rejections.record(remoteAddress, reason);
    this.emit('peer-rejected', { remoteAddress, reason });
  }
}
