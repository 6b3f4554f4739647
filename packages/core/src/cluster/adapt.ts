/**
 * `cluster.adapt(manager, options)`: an adaptive pool that keeps between `minimum` and
 * `maximum` workers of a manager, following the work the cluster holds. Every `intervalMs` it
 * reads the demand and its workers, asks {@link plan} what to do, and does it: one launch per
 * decision (a manager sized by `withWorkers`), cancels of queued workers (`cancelPending`),
 * graceful retirement of idle workers. Why it works this way: docs/adaptive.md.
 * @module
 */
import { EventEmitter } from 'node:events';
import { UsageError, isCmError } from '../errors.js';
import type { ClusterManager } from '../manager/types.js';
import type { LevelLogger } from '../util/logger.js';
import { ProgressLine } from '../util/progress-line.js';
import { parseOptions } from '../util/validate.js';
import { type AdaptEvents, type AdaptFigures, type AdaptOptions, NO_TIMEOUT_MS, type ResolvedAdaptOptions, adaptOptionsSchema } from './adapt-options.js';
import { type PlanWorker, plan } from './adapt-plan.js';
import type { DemandBoard } from './demand.js';

export type { AdaptEvents, AdaptFigures, AdaptOptions } from './adapt-options.js';

const DEFAULT_WALLTIME_LEAD_MS = 120_000;
/** On stop, how long processes already starting (a manager with nothing queued to cancel) may take to join before their launch is aborted. */
const STOP_JOIN_WAIT_MS = 10_000;
const MINUTE_MS = 60_000;

/** A worker as the pool reads it (a structural view of the master's worker handle). */
export interface AdaptWorker {
  readonly id: number;
  readonly config: { readonly manager: ClusterManager; readonly endsAt: number | null };
  readonly inFlight: number;
  readonly callsInFlight: number;
  readonly idleSince: number;
}

/** What the pool needs of the cluster. */
export interface AdaptHost {
  readonly demand: DemandBoard;
  readonly cluster: EventEmitter;
  readonly logger: LevelLogger;
  workers(): readonly AdaptWorker[];
  addprocs(manager: ClusterManager, options: { timeoutMs: number; signal: AbortSignal }): Promise<number[]>;
  /** The unsettled launch of a manager, once `addprocs` has created it. */
  launchOf(manager: ClusterManager): { readonly id: string; readonly expected: number; readonly joined: readonly number[] } | undefined;
  /** Remove an idle worker now; false (nothing done) when it has a call in flight or is gone. */
  retire(id: number, detail: string): boolean;
  closed(): boolean;
}

/** One launch the pool started and that has not settled. */
interface PoolLaunch {
  readonly manager: ClusterManager;
  readonly size: number;
  readonly settled: Promise<void>;
  done: boolean;
}

/**
 * A running adaptive pool (from {@link Cluster.adapt}). `stop()` (or `await using`) stops
 * adapting: queued workers are cancelled, joined workers stay until `rmprocs` or `close`.
 *
 * Events: `scale-up`, `scale-down`, `retire`, `launch-failed`, `paused`, `stopped`
 * (see {@link AdaptEvents}); each carries the figures (demand, workers, pending, target).
 */
export class AdaptHandle extends EventEmitter<AdaptEvents> implements AsyncDisposable {
  readonly #host: AdaptHost;
  readonly #base: ClusterManager;
  readonly #options: ResolvedAdaptOptions & { maximum: number; walltimeLeadMs: number };
  readonly #managers = new Set<ClusterManager>();
  readonly #launches = new Set<PoolLaunch>();
  readonly #launchTimes: number[] = [];
  readonly #abort = new AbortController();
  readonly #progress: ProgressLine;
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: () => void;
  #excessSince: number | undefined;
  #failures = 0;
  #paused: { reason: 'submission-refused' | 'launch-failures'; message: string } | undefined;
  #cancelling = false;
  #rateNoted = false;
  #stopping: Promise<void> | undefined;
  #launched = 0;
  #cancelled = 0;
  #retired = 0;

  constructor(host: AdaptHost, manager: ClusterManager, options: ResolvedAdaptOptions) {
    super();
    this.#host = host;
    this.#base = manager;
    this.#options = {
      ...options,
      maximum: options.maximum ?? manager.expectedWorkers,
      walltimeLeadMs: options.walltimeLeadMs ?? manager.walltimeLeadMs ?? DEFAULT_WALLTIME_LEAD_MS,
    };
    if (this.#options.minimum > this.#options.maximum) {
      throw new UsageError(`adapt: \`minimum\` (${this.#options.minimum}) exceeds \`maximum\` (${this.#options.maximum}, the manager's worker count when not given)`, 'minimum');
    }
    const mode = options.progress === true ? 'auto' : options.progress === false ? 'none' : options.progress;
    this.#progress = new ProgressLine(mode);
    const onJoined = (config: { manager: ClusterManager }) => {
      if (this.#managers.has(config.manager)) this.#failures = 0;
    };
    host.cluster.on('worker-joined', onJoined);
    const ungrow = host.demand.addGrower(() => !this.#stopping && !this.#paused && !host.closed());
    const unwatch = host.demand.onMapStarted(() => queueMicrotask(() => this.#tick()));
    this.#unsubscribe = () => {
      host.cluster.off('worker-joined', onJoined);
      unwatch();
      ungrow();
    };
    this.#timer = setInterval(() => this.#tick(), options.intervalMs).unref();
    if (options.signal?.aborted) void this.stop();
    else options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
    queueMicrotask(() => this.#tick());
  }

  /** Launches started since the pool began (one submission each for a batch scheduler). */
  get launches(): number {
    return this.#launched;
  }

  /** Queued workers cancelled since the pool began. */
  get cancelled(): number {
    return this.#cancelled;
  }

  /** Workers retired since the pool began. */
  get retired(): number {
    return this.#retired;
  }

  /** The figures now, the pool's bounds, and why growth is paused when it is. */
  state(): AdaptFigures & { minimum: number; maximum: number; paused: string | undefined; stopped: boolean } {
    const { figures } = this.#look();
    const { minimum, maximum } = this.#options;
    return { ...figures, minimum, maximum, paused: this.#paused?.message, stopped: this.#stopping !== undefined };
  }

  /** Let the pool grow again after a `paused` event (the failure count starts over). */
  resume(): void {
    this.#paused = undefined;
    this.#failures = 0;
    this.#host.demand.wake();
  }

  /**
   * Stop adapting: no more launches or retirements; queued workers are cancelled, processes
   * already starting (a manager with no queue) get up to 10 s to join, and a launch still
   * incomplete after that is stopped with any of its workers that joined. Joined workers of
   * complete launches stay. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#unsubscribe();
    const open = [...this.#launches].filter((launch) => !launch.done);
    await Promise.all(
      open.map(async (launch) => {
        const current = this.#host.launchOf(launch.manager);
        if (current && launch.manager.cancelPending) {
          await launch.manager.cancelPending(current.id, launch.size).catch((error: Error) => this.#host.logger.warn(`adapt: cancelling queued workers failed: ${error.message}`));
        }
      }),
    );
    // Processes already starting (local workers) join in a moment: let them, rather than kill them mid-handshake.
    const starting = open.filter((launch) => !launch.manager.cancelPending && !launch.done);
    if (starting.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_JOIN_WAIT_MS)));
      await Promise.race([Promise.all(starting.map((launch) => launch.settled)), waited]);
      clearTimeout(timer);
    }
    this.#abort.abort(new Error('the adaptive pool was stopped'));
    await Promise.all(open.map((launch) => launch.settled));
    this.#progress.finish();
    this.emit('stopped');
  }

  #poolWorkers(): AdaptWorker[] {
    return this.#host.workers().filter((worker) => this.#managers.has(worker.config.manager));
  }

  #pending(): number {
    let pending = 0;
    for (const launch of this.#launches) {
      if (launch.done) continue;
      const current = this.#host.launchOf(launch.manager);
      pending += current ? Math.max(0, current.expected - current.joined.length) : launch.size;
    }
    return pending;
  }

  #look(): { figures: AdaptFigures; workers: PlanWorker[] } {
    const now = Date.now();
    const all = this.#host.workers();
    let demand = this.#host.demand.mapItems();
    for (const worker of all) demand += worker.callsInFlight;
    const workers = this.#poolWorkers().map((worker) => ({
      id: worker.id,
      inFlight: worker.inFlight,
      idleSince: worker.idleSince,
      ending: worker.config.endsAt !== null && worker.config.endsAt - now <= this.#options.walltimeLeadMs,
    }));
    const ending = workers.filter((w) => w.ending).length;
    const pending = this.#pending();
    const target = Math.min(this.#options.maximum, Math.max(this.#options.minimum, Math.ceil(demand / this.#options.itemsPerWorker)));
    return { figures: { demand, workers: workers.length - ending, ending, pending, target }, workers };
  }

  #tick(): void {
    if (this.#stopping) return;
    if (this.#host.closed()) {
      void this.stop();
      return;
    }
    const now = Date.now();
    while (this.#launchTimes.length > 0 && now - this.#launchTimes[0]! >= MINUTE_MS) this.#launchTimes.shift();
    const { figures, workers } = this.#look();
    const decision = plan({
      now,
      demand: figures.demand,
      minimum: this.#options.minimum,
      maximum: this.#options.maximum,
      itemsPerWorker: this.#options.itemsPerWorker,
      idleTimeoutMs: this.#options.idleTimeoutMs,
      workers,
      pending: figures.pending,
      excessSince: this.#excessSince,
      launchesLastMinute: this.#launchTimes.length,
      maxLaunchesPerMinute: this.#options.maxLaunchesPerMinute,
      paused: this.#paused !== undefined,
    });
    this.#excessSince = decision.excessSince;
    for (const { id, reason, idleMs } of decision.retire) {
      const detail = reason === 'walltime' ? 'retired by adapt: its walltime is near' : `retired by adapt: idle for ${Math.round(idleMs)} ms`;
      if (!this.#host.retire(id, detail)) continue;
      this.#retired++;
      figures.workers -= reason === 'idle' ? 1 : 0;
      figures.ending -= reason === 'walltime' ? 1 : 0;
      this.emit('retire', { ...figures, reason, workerId: id, idleMs });
    }
    if (decision.cancel > 0 && !this.#cancelling) void this.#cancelQueued(decision.cancel, figures);
    if (decision.launch > 0) {
      this.#launch(decision.launch, decision.reason, figures);
      figures.pending += decision.launch;
    }
    if (decision.rateLimited && !this.#rateNoted) {
      this.#rateNoted = true;
      this.#host.logger.info(`adapt ${this.#base.name}: growth waits: ${this.#options.maxLaunchesPerMinute} launches in the last minute (maxLaunchesPerMinute)`);
    }
    if (!decision.rateLimited) this.#rateNoted = false;
    this.#showProgress(figures);
    // While work waits or workers are on their way the pool keeps the program alive (a map
    // waiting for its first worker holds nothing else open); an idle pool does not.
    if (figures.demand > 0 || this.#pending() > 0) this.#timer.ref();
    else this.#timer.unref();
  }

  #launch(size: number, reason: 'demand' | 'minimum' | 'walltime', figures: AdaptFigures): void {
    let manager: ClusterManager;
    try {
      if (!this.#base.withWorkers) throw new UsageError(`adapt: the ${this.#base.name} manager cannot start a chosen number of workers (it has no withWorkers)`, 'manager');
      manager = this.#base.withWorkers(size);
    } catch (error) {
      // A manager that cannot be sized will not be sized next time either: stop growing, say why.
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#pause('launch-failures', failure, `adapt ${this.#base.name}: could not make a manager of ${size} workers; growth is paused. ${failure.message}`);
      return;
    }
    this.#managers.add(manager);
    this.#launchTimes.push(Date.now());
    this.#launched++;
    const launch: PoolLaunch = {
      manager,
      size,
      done: false,
      settled: this.#host.addprocs(manager, { timeoutMs: this.#options.launchTimeoutMs ?? NO_TIMEOUT_MS, signal: this.#abort.signal }).then(
        () => {
          launch.done = true;
          this.#launches.delete(launch);
        },
        (error: Error) => {
          launch.done = true;
          this.#launches.delete(launch);
          this.#launchFailed(error);
        },
      ),
    };
    this.#launches.add(launch);
    this.emit('scale-up', { ...figures, pending: figures.pending + size, reason, launched: size });
    this.#host.logger.info(`adapt ${this.#base.name}: launching ${size} worker(s) (${reason}; demand ${figures.demand}, ${figures.workers} workers, ${figures.pending} pending)`);
  }

  #launchFailed(error: Error): void {
    if (this.#stopping || this.#host.closed()) return;
    this.#failures++;
    const { figures } = this.#look();
    this.emit('launch-failed', { ...figures, error, failures: this.#failures });
    const refused = isCmError(error, 'SchedulerError') || isCmError(error.cause, 'SchedulerError');
    if (refused) return this.#pause('submission-refused', error, `adapt ${this.#base.name}: the scheduler refused a submission; growth is paused (workers keep working). ${error.message}`);
    if (this.#failures >= this.#options.maxLaunchFailures) {
      this.#pause(
        'launch-failures',
        error,
        `adapt ${this.#base.name}: ${this.#failures} launches in a row failed before their workers joined; growth is paused (call resume() once fixed). Last: ${error.message}`,
      );
    }
  }

  #pause(reason: 'submission-refused' | 'launch-failures', error: Error, message: string): void {
    if (this.#paused) return;
    this.#paused = { reason, message };
    this.#host.logger.warn(message);
    this.emit('paused', { ...this.#look().figures, reason, error, message });
    this.#host.demand.wake();
  }

  async #cancelQueued(count: number, figures: AdaptFigures): Promise<void> {
    this.#cancelling = true;
    try {
      let left = count;
      // Newest launches first: they are the furthest from starting.
      for (const launch of [...this.#launches].reverse()) {
        if (left <= 0 || launch.done || !launch.manager.cancelPending) continue;
        const current = this.#host.launchOf(launch.manager);
        if (!current) continue;
        const cancelled = await launch.manager.cancelPending(current.id, left).catch((error: Error) => {
          this.#host.logger.warn(`adapt ${this.#base.name}: cancelling queued workers failed: ${error.message}`);
          return 0;
        });
        left -= cancelled;
        if (cancelled > 0) {
          this.#cancelled += cancelled;
          this.emit('scale-down', { ...figures, pending: Math.max(0, figures.pending - cancelled), reason: 'demand-gone', cancelled });
        }
      }
    } finally {
      this.#cancelling = false;
    }
  }

  #showProgress({ demand, workers, ending, pending, target }: AdaptFigures): void {
    const parts = [`${workers} worker${workers === 1 ? '' : 's'}`];
    if (ending > 0) parts.push(`${ending} ending`);
    if (pending > 0) parts.push(`${pending} pending`);
    const paused = this.#paused ? ` - paused: ${this.#paused.reason}` : '';
    this.#progress.update(`adapt ${this.#base.name}: ${parts.join(', ')}; demand ${demand}, target ${target}${paused}`);
  }
}

/** Validate the options and start the pool. */
export function startAdapting(host: AdaptHost, manager: ClusterManager, options: AdaptOptions): AdaptHandle {
  const resolved = parseOptions(adaptOptionsSchema, options, 'adapt options');
  if (!manager || typeof manager.withWorkers !== 'function') {
    const name = (manager as Partial<ClusterManager> | undefined)?.name ?? 'this';
    throw new UsageError(`adapt: the ${name} manager cannot be adapted: it has no withWorkers(count) to start a chosen number of workers`, 'manager');
  }
  return new AdaptHandle(host, manager, resolved);
}
