/**
 * The master: listens for workers, runs the handshake, keeps the worker table, sends calls,
 * watches liveness, and drives launches through managers.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { LaunchError, UsageError, type WorkerLossInfo } from '../errors.js';
import type { ClusterManager, WorkerConfig } from '../manager/types.js';
import { FramedConnection } from '../protocol/connection.js';
import { HANDSHAKE_MAX_FRAME_BYTES, type WorkerIdentity, acceptWorker } from '../protocol/handshake.js';
import { holdOpen } from '../util/keep-alive.js';
import { type Logger, stderrLogger } from '../util/logger.js';
import { parseOptions } from '../util/validate.js';
import { Future } from './future.js';
import { Launch } from './launch.js';
import { combineDetail, explainWithin, lossOnClose } from './loss.js';
import { HANDSHAKE_TIMEOUT_MS, type ListenAddress, MasterListener } from './listener.js';
import {
  type AddprocsOptions,
  type ClusterOptions,
  type PmapOptions,
  type ResolvedClusterOptions,
  addprocsOptionsSchema,
  clusterOptionsSchema,
  pmapOptionsSchema,
} from './options.js';
import { runPmap } from './pmap.js';
import { RejectionLog } from './rejections.js';
import { FunctionRegistry, type RemoteFunction } from './remote-function.js';
import type { Args, ClusterEvents, Item, Res } from './types.js';
import { WorkerHandle } from './worker-handle.js';

const DEFAULT_LAUNCH_TIMEOUT_MS = 120_000;
/** How long a refused peer's socket stays open (not read) so the Refuse frame reaches it. */
const REFUSE_LINGER_MS = 1_000;
/** How long a lost worker's manager may take to say what happened before calls are failed anyway. */
const EXPLAIN_LOSS_TIMEOUT_MS = 1_000;


/**
 * A cluster of worker processes and the master that drives them.
 *
 * @example
 * ```ts
 * import { Cluster, LocalManager } from '@cm/core';
 * await using cluster = new Cluster();
 * await cluster.addprocs(new LocalManager(2));
 * console.log(await cluster.pmap((x: number) => x * x, [1, 2, 3])); // [1, 4, 9]
 * ```
 */
/** Default output routing, as in Julia: `From worker N: …` on the master's own stream of the same kind. */
function printWorkerOutput(workerId: number, stream: 'stdout' | 'stderr', line: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`From worker ${workerId}: ${line}\n`);
}

export class Cluster extends EventEmitter<ClusterEvents> implements AsyncDisposable {
  readonly #options: ResolvedClusterOptions;
  readonly #secret: Buffer;
  readonly #logger: Logger;
  readonly #rejections: RejectionLog;
  readonly #listener: MasterListener;
  readonly #workers = new Map<number, WorkerHandle>();
  readonly #removed = new Map<number, string>();
  readonly #launches = new Map<string, Launch>();
  readonly #managers = new Set<ClusterManager>();
  readonly #handshakes = new Set<FramedConnection>();
  readonly #functions = new FunctionRegistry();
  #nextWorkerId = 2;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  /** @throws UsageError naming the invalid option */
  constructor(options: ClusterOptions = {}) {
    super();
    this.#options = parseOptions(clusterOptionsSchema, options, 'Cluster options');
    this.#secret = this.#options.secret ? Buffer.from(this.#options.secret, 'base64url') : randomBytes(32);
    this.#logger = this.#options.logger ?? stderrLogger;
    this.#rejections = new RejectionLog(this.#logger);
    this.#listener = new MasterListener(
      this.#options,
      { encrypt: this.#options.encrypt, secret: this.#secret },
      (socket) => this.#accept(socket),
      (remoteAddress, reason) => this.#rejected(remoteAddress, reason),
    );
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
    const launch = new Launch(manager);
    this.#launches.set(launch.id, launch);
    this.#managers.add(manager);

    const stopWatching = launch.failOnTimeoutOrAbort(opts.timeoutMs ?? manager.defaultLaunchTimeoutMs ?? DEFAULT_LAUNCH_TIMEOUT_MS, opts.signal);

    const context = launch.context(master, { encrypt: this.#options.encrypt, secret: this.#secret }, (update) => this.emit('launch-progress', { ...update, launchId: launch.id, manager: manager.name }));
    manager.launch(context).then(
      () => {
        if (launch.expected === 0) launch.succeed();
      },
      (error: Error) => launch.fail(error),
    );
    try {
      await launch.done;
      return [...launch.joined];
    } catch (error) {
      await this.#rollBack(launch, (error as Error).message);
      throw error;
    } finally {
      stopWatching();
      if (!manager.acceptsLateWorkers) this.#launches.delete(launch.id);
    }
  }

  async #rollBack(launch: Launch, reason: string): Promise<void> {
    this.#launches.delete(launch.id);
    const ids = launch.joined.filter((id) => this.#workers.has(id));
    await this.rmprocs(ids).catch((error: Error) => this.#logger.warn(`while undoing a failed launch: ${error.message}`));
    await launch.manager.shutdown?.(reason, launch.id).catch((error: Error) => this.#logger.warn(`${launch.manager.name} shutdown failed: ${error.message}`));
  }

  /**
   * Ask workers to exit, and make their managers stop them if they do not within
   * `shutdownGraceMs`. Calls still in flight on them reject with WorkerLostError.
   * @throws UsageError for an id that is not a current worker (nothing is removed then)
   */
  async rmprocs(ids: number | readonly number[]): Promise<void> {
    const list = typeof ids === 'number' ? [ids] : [...ids];
    const handles = list.map((id) => this.#handle(id, 'rmprocs'));
    await Promise.all(handles.map((handle) => this.#remove(handle, { reason: 'removed', detail: 'removed by rmprocs' })));
  }

  async #remove(handle: WorkerHandle, loss: WorkerLossInfo): Promise<void> {
    if (!this.#workers.delete(handle.id)) return;
    const release = holdOpen();
    try {
      await this.#stop(handle, loss);
    } finally {
      release();
    }
  }

  async #stop(handle: WorkerHandle, loss: WorkerLossInfo): Promise<void> {
    this.#removed.set(handle.id, loss.detail ?? loss.reason);
    handle.failAll(loss);
    if (!(await handle.askToExit(loss.detail ?? loss.reason, this.#options.shutdownGraceMs))) {
      this.#logger.warn(`worker ${handle.id} did not exit within ${this.#options.shutdownGraceMs} ms of being asked; killing it`);
      await handle.config.manager.kill?.(handle.config).catch((error: Error) => this.#logger.warn(`killing worker ${handle.id} failed: ${error.message}`));
      handle.conn.destroy();
    }
    this.emit('worker-removed', handle.config);
    handle.config.manager.manage?.(handle.config, 'removed');
  }

  /** Ids of the current workers, in the order they joined. Empty when there are none (the master is id 1). */
  workers(): number[] {
    return [...this.#workers.keys()];
  }

  /** Number of current workers. */
  nworkers(): number {
    return this.#workers.size;
  }

  /** What the master knows about a worker (host, pid, job id, task index…). */
  worker(id: number): WorkerConfig {
    return this.#handle(id, 'worker').config;
  }

  /**
   * Run `fn(...args)` on worker `id`. Returns at once with a Future.
   * @throws UsageError for an unknown or removed worker, a function that cannot be shipped, or arguments that cannot be cloned
   */
  remotecall<F extends RemoteFunction>(id: number, fn: F, ...args: Args<F>): Future<Res<F>> {
    return new Future(id, this.#call(id, fn, args, 'remotecall') as Promise<Res<F>>);
  }

  /** `remotecall` and wait for the value. */
  remotecallFetch<F extends RemoteFunction>(id: number, fn: F, ...args: Args<F>): Promise<Res<F>> {
    try {
      return this.#call(id, fn, args, 'remotecallFetch') as Promise<Res<F>>;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Send one call; throws (before sending anything) for an unknown worker, an unshippable function or uncloneable arguments. */
  #call(id: number, fn: unknown, args: unknown[], caller: string): Promise<unknown> {
    const handle = this.#handle(id, caller);
    const prepared = this.#functions.prepare(fn, caller);
    try {
      return handle.call(prepared, 'call', args);
    } catch (error) {
      throw new UsageError(`${caller}: the arguments cannot be sent to worker ${id}: ${(error as Error).message}`, 'args', { cause: error });
    }
  }

  /**
   * `remotecall` and wait until it has finished; rejects with its error. Julia's version
   * returns the Future; here use `const f = cluster.remotecall(…); await f.wait()` when you
   * also want the value later (a Promise cannot resolve to an awaitable Future).
   */
  async remotecallWait<F extends RemoteFunction>(id: number, fn: F, ...args: Args<F>): Promise<void> {
    await this.remotecall(id, fn, ...args).wait();
  }

  /**
   * Like `remotecall`; `'any'` picks the least busy worker (Julia's `@spawnat :any`).
   */
  spawnAt<F extends RemoteFunction>(id: number | 'any', fn: F, ...args: Args<F>): Future<Res<F>> {
    if (id !== 'any') return this.remotecall(id, fn, ...args);
    const idle = [...this.#workers.values()].sort((a, b) => a.inFlight - b.inFlight)[0];
    if (!idle) throw new UsageError('spawnAt: the cluster has no workers; call addprocs first', 'id');
    return this.remotecall(idle.id, fn, ...args);
  }

  /**
   * Run `fn(...args)` on every current worker (Julia's `@everywhere`), e.g. to load a module
   * or set up state. Resolves to the results in the order of `workers()`.
   */
  async everywhere<F extends RemoteFunction>(fn: F, ...args: Args<F>): Promise<Array<Res<F>>> {
    const futures = this.workers().map((id) => this.remotecall(id, fn, ...args));
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
    const list = Array.isArray(items) ? (items as unknown[]) : [...items];
    opts.signal?.throwIfAborted();
    return (await runPmap(
      {
        activeWorkers: () => [...this.#workers.values()],
        onWorkerJoined: (listener) => {
          this.on('worker-joined', listener);
          return () => this.off('worker-joined', listener);
        },
      },
      prepared,
      list,
      opts,
    )) as Array<Res<F>>;
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
    for (const launch of this.#launches.values()) {
      launch.fail(new LaunchError(`${launch.manager.name} launch stopped: the cluster was closed`, { manager: launch.manager.name, joined: launch.joined.length, expected: launch.expected }));
    }
    for (const conn of this.#handshakes) conn.destroy();
    await Promise.all([...this.#workers.values()].map((handle) => this.#remove(handle, { reason: 'cluster-closed', detail: 'the cluster was closed' })));
    await Promise.all(
      [...this.#managers].map(async (manager) => {
        try {
          await manager.shutdown?.('the cluster was closed');
        } catch (error) {
          this.#logger.warn(`${manager.name} shutdown failed: ${(error as Error).message}`);
        }
      }),
    );
    clearInterval(this.#heartbeat);
    await this.#listener.close();
    this.#rejections.flush();
  }

  #assertOpen(what: string): void {
    if (this.#closing) throw new UsageError(`${what}: the cluster is closed; create a new Cluster`);
  }

  #handle(id: number, caller: string): WorkerHandle {
    const handle = this.#workers.get(id);
    if (handle) return handle;
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new UsageError(`${caller}: worker id must be an integer, got ${String(id)}`, 'id');
    const removed = this.#removed.get(id);
    const known = this.workers().join(', ') || 'none';
    throw new UsageError(
      removed ? `${caller}: worker ${id} is gone (${removed}); current workers: ${known}` : `${caller}: there is no worker ${id}; current workers: ${known}`,
      'id',
    );
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
    const remote = conn.remoteAddress;
    this.#handshakes.add(conn);
    acceptWorker(conn, this.#secret, (identity) => this.#admit(identity), { timeoutMs: HANDSHAKE_TIMEOUT_MS }).then(
      ({ identity, workerId }) => {
        this.#handshakes.delete(conn);
        conn.maxFrameBytes = this.#options.maxFrameBytes;
        this.#join(conn, identity, workerId);
      },
      (error: Error) => {
        this.#handshakes.delete(conn);
        // Not one more byte from a refused peer is read or queued (a flood after a failed
        // handshake once took the master to gigabytes); the Refuse still gets a moment to go out.
        conn.dismiss(REFUSE_LINGER_MS);
        this.#rejected(remote, error.message);
      },
    );
  }

  #rejected(remoteAddress: string, reason: string): void {
    this.#rejections.record(remoteAddress, reason);
    this.emit('peer-rejected', { remoteAddress, reason });
  }

  #admit(identity: WorkerIdentity): ReturnType<Parameters<typeof acceptWorker>[2]> {
    const launch = this.#launches.get(identity.launchId);
    if (this.#closing) return { admit: false, reason: 'the cluster is closing' };
    if (!launch) return { admit: false, reason: `launch ${identity.launchId} is not (or no longer) accepting workers` };
    if (!launch.acceptsWorkers()) return { admit: false, reason: `launch ${identity.launchId} already has all ${launch.expected} of its workers` };
    // Bind the join to a slot the launch expects: a peer holding the secret cannot take the
    // place of a task that has joined (or will), nor claim a task the launch never started.
    const slot = launch.claimTask(identity.taskIndex, identity.jobId);
    if (slot) return { admit: false, reason: slot };
    return {
      admit: true,
      workerId: this.#nextWorkerId++,
      heartbeatMs: this.#options.heartbeat.intervalMs,
      timeoutMs: this.#options.heartbeat.timeoutMs,
      maxFrameBytes: this.#options.maxFrameBytes,
    };
  }

  #join(conn: FramedConnection, identity: WorkerIdentity, id: number): void {
    const launch = this.#launches.get(identity.launchId);
    if (!launch || this.#closing) {
      conn.destroy();
      return;
    }
    const config: WorkerConfig = Object.freeze({
      id,
      launchId: identity.launchId,
      manager: launch.manager,
      taskIndex: identity.taskIndex,
      jobId: identity.jobId,
      host: identity.host,
      pid: identity.pid,
      cpus: identity.cpus,
      endsAt: identity.endsAt,
      joinedAt: Date.now(),
    });
    const handle = new WorkerHandle(config, conn, (stream, lines) => this.#output(id, stream, lines));
    this.#workers.set(id, handle);
    conn.onClose((error) => void this.#lost(handle, lossOnClose(error)));
    this.#startHeartbeat();
    launch.workerJoined(id);
    launch.manager.manage?.(config, 'joined');
    this.emit('worker-joined', config);
  }

  #output(workerId: number, stream: 'stdout' | 'stderr', lines: string[]): void {
    const route = this.#options.onOutput ?? printWorkerOutput;
    for (const line of lines) {
      route(workerId, stream, line);
      if (this.listenerCount('output') > 0) this.emit('output', { workerId, stream, line });
    }
  }

  /** A worker went away without being removed: fail its calls with what its manager can tell us. */
  async #lost(handle: WorkerHandle, loss: WorkerLossInfo): Promise<void> {
    if (!this.#workers.delete(handle.id)) return;
    handle.leaving = loss;
    const { manager } = handle.config;
    const explanation = manager.explainLoss ? await explainWithin(manager.explainLoss(handle.config), EXPLAIN_LOSS_TIMEOUT_MS) : undefined;
    const detail = combineDetail(loss, explanation);
    const full: WorkerLossInfo = { ...loss, detail };
    this.#removed.set(handle.id, `lost: ${detail ?? loss.reason}`);
    handle.failAll(full);
    this.#logger.warn(`worker ${handle.id} (${handle.config.host}, pid ${handle.config.pid}) was lost (${loss.reason})${detail ? `: ${detail}` : ''}`);
    const launch = this.#launches.get(handle.config.launchId);
    // A launch that takes workers at any time (elastic) does not fail because one left early.
    if (launch && !launch.settled && !manager.acceptsLateWorkers) {
      launch.fail(new LaunchError(`worker ${handle.id} of a ${manager.name} launch was lost before all workers had joined: ${detail ?? loss.reason}`, { manager: manager.name, joined: launch.joined.length, expected: launch.expected }));
    }
    this.emit('worker-lost', handle.config, full);
    manager.manage?.(handle.config, 'lost');
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    const { intervalMs, timeoutMs } = this.#options.heartbeat;
    // One timer for all workers: cheap at thousands of workers.
    this.#heartbeat = setInterval(() => {
      const now = Date.now();
      for (const handle of this.#workers.values()) {
        if (now - handle.conn.lastReceivedAt > timeoutMs) {
          void this.#lost(handle, { reason: 'heartbeat-timeout', detail: `no heartbeat for ${timeoutMs} ms` });
          handle.conn.destroy();
          // A frozen process (SIGSTOP, a hung node) would otherwise hold its CPUs or its job
          // until close(); its manager stops it now.
          handle.config.manager.kill?.(handle.config).catch((error: Error) => this.#logger.warn(`killing unresponsive worker ${handle.id} failed: ${error.message}`));
        } else {
          handle.conn.heartbeat(now, intervalMs);
        }
      }
    }, intervalMs).unref();
  }
}
