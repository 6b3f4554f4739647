/**
 * `cluster.snapshot()`: what the cluster's events add up to, as one plain, versioned object a
 * dashboard, a metrics exporter or a test can read. Events stay the source of truth: the
 * recorder listens to them from the cluster's start and keeps bounded history (recent losses,
 * recent events); live figures (calls in flight, CPU, memory) are read from the worker table
 * at the moment the snapshot is taken.
 * @module
 */
import type { EventEmitter } from 'node:events';
import type { WorkerLossInfo } from '../errors.js';
import type { WorkerConfig } from '../manager/types.js';
import { type ObservedPool, PoolRecorder } from './pool-snapshot.js';
import {
  type ClusterSnapshot,
  type EventSnapshot,
  type JobSnapshot,
  type JobStateCount,
  type LaunchSnapshot,
  type LossSnapshot,
  type PmapSnapshot,
  SNAPSHOT_VERSION,
  type WorkerSnapshot,
  type WorkerState,
} from './snapshot-types.js';
import type { ClusterEvents, LaunchProgressEvent, PmapProgressEvent } from './types.js';

/** Lost workers kept in `workers` (newest), losses kept in `losses`, events in `events`, launches in `launches`, finished pmaps in `pmaps`. */
const KEEP = { lostWorkers: 50, losses: 50, events: 200, launches: 20, endedPmaps: 5 } as const;

/** What the recorder reads of a worker's master-side handle (a structural view of WorkerHandle). */
export interface ObservedWorker {
  readonly config: WorkerConfig;
  readonly inFlight: number;
  readonly callsDone: number;
  readonly stats: { cpuPercent: number; rssBytes: number; at: number } | undefined;
  readonly leaving: WorkerLossInfo | undefined;
}

/** What the recorder reads of a launch (a structural view of Launch). */
export interface ObservedLaunch {
  readonly id: string;
  readonly manager: { readonly name: string };
  readonly expected: number;
  readonly joined: readonly number[];
  elapsedMs(): number;
}

/** How the recorder reaches into the cluster: looked up when an event names a worker or launch, and when a snapshot is taken. */
export interface SnapshotSources {
  worker(id: number): ObservedWorker | undefined;
  launch(id: string): ObservedLaunch | undefined;
  closed(): boolean;
}

interface WorkerEntry {
  readonly config: WorkerConfig;
  readonly handle: ObservedWorker | undefined;
  readonly queueWaitMs: number | null;
  loss: WorkerSnapshot['loss'];
}

interface LaunchEntry {
  readonly id: string;
  readonly manager: string;
  startedAt: number | null;
  expected: number | null;
  joined: number;
  lost: number;
  message: string | null;
  readonly jobs: Map<string, JobSnapshot>;
}

type PmapEntry = Omit<PmapSnapshot, 'ratePerSecond'>;

/** Listens to a cluster's events from its start and turns them into snapshots. */
export class SnapshotRecorder {
  readonly #sources: SnapshotSources;
  readonly #startedAt = Date.now();
  readonly #workers = new Map<number, WorkerEntry>();
  readonly #launches = new Map<string, LaunchEntry>();
  readonly #pmaps = new Map<number, PmapEntry>();
  readonly #losses: LossSnapshot[] = [];
  readonly #events: EventSnapshot[] = [];
  readonly #lossesByReason: Record<string, number> = {};
  readonly #jobIds = new Set<string>();
  /** Calls done by workers no longer listed. */
  #callsDoneGone = 0;
  #pmapItemsDone = 0;
  #joins = 0;
  #queueWaitMsSum = 0;
  #peersRejected = 0;
  readonly #pools = new PoolRecorder((kind, text) => this.#event(kind, text));

  constructor(events: EventEmitter<ClusterEvents>, sources: SnapshotSources) {
    this.#sources = sources;
    events.on('worker-joined', (config) => this.#joined(config));
    events.on('worker-lost', (config, loss) => this.#lost(config, loss));
    events.on('worker-removed', (config) => this.#removed(config));
    events.on('launch-progress', (progress) => this.#launchProgress(progress));
    events.on('pmap-progress', (progress: PmapProgressEvent) => this.#pmapProgress(progress));
    events.on('peer-rejected', ({ remoteAddress, reason }) => {
      this.#peersRejected++;
      this.#event('peer-rejected', `peer ${remoteAddress} refused: ${reason}`);
    });
  }

  /** Show an adaptive pool from now on. */
  watchPool(pool: ObservedPool, manager: string): void {
    this.#pools.watch(pool, manager);
  }

  snapshot(): ClusterSnapshot {
    const now = Date.now();
    const counts: Record<WorkerState, number> = { joining: 0, idle: 0, busy: 0, retiring: 0, lost: 0 };
    const workers: WorkerSnapshot[] = [];
    let callsDone = this.#callsDoneGone;
    let callsInFlight = 0;
    for (const entry of this.#workers.values()) {
      const worker = describeWorker(entry, now);
      counts[worker.state]++;
      callsDone += worker.callsDone;
      callsInFlight += worker.callsInFlight;
      workers.push(worker);
    }
    // Listed: current and retiring workers in join order, then the lost, newest loss first.
    workers.sort((a, b) => Number(a.state === 'lost') - Number(b.state === 'lost') || (a.loss && b.loss ? b.loss.at - a.loss.at : a.id - b.id));
    const launches = [...this.#launches.values()].map((entry) => this.#describeLaunch(entry));
    for (const launch of launches) counts.joining += launch.joining;
    return {
      version: SNAPSHOT_VERSION,
      takenAt: now,
      startedAt: this.#startedAt,
      closed: this.#sources.closed(),
      counts,
      totals: {
        callsDone,
        callsInFlight,
        pmapItemsDone: this.#pmapItemsDone,
        losses: { ...this.#lossesByReason },
        submissions: this.#jobIds.size,
        joins: this.#joins,
        queueWaitMsSum: this.#queueWaitMsSum,
        peersRejected: this.#peersRejected,
      },
      workers,
      launches,
      pmaps: [...this.#pmaps.values()]
        .sort((a, b) => Number(a.ended) - Number(b.ended) || a.id - b.id)
        .map((pmap) => ({ ...pmap, ratePerSecond: pmap.elapsedMs > 0 ? (pmap.done / pmap.elapsedMs) * 1000 : 0 })),
      pools: this.#pools.describe(),
      losses: [...this.#losses],
      events: [...this.#events],
    };
  }

  #joined(config: WorkerConfig): void {
    const launch = this.#launch(config.launchId, config.manager.name);
    launch.joined++;
    const queueWaitMs = launch.startedAt === null ? null : Math.max(0, config.joinedAt - launch.startedAt);
    if (queueWaitMs !== null) {
      this.#joins++;
      this.#queueWaitMsSum += queueWaitMs;
    }
    this.#workers.set(config.id, { config, handle: this.#sources.worker(config.id), queueWaitMs, loss: null });
    this.#event(
      'worker-joined',
      `worker ${config.id} joined (${config.host}, pid ${config.pid}${config.jobId ? `, job ${config.jobId}` : ''}${config.taskIndex === null ? '' : `, task ${config.taskIndex}`})`,
    );
  }

  #lost(config: WorkerConfig, loss: WorkerLossInfo): void {
    const at = Date.now();
    const entry = this.#workers.get(config.id);
    if (entry) entry.loss = { at, reason: loss.reason, detail: loss.detail ?? null };
    this.#lossesByReason[loss.reason] = (this.#lossesByReason[loss.reason] ?? 0) + 1;
    const launch = this.#launches.get(config.launchId);
    if (launch) launch.lost++;
    this.#losses.unshift({ at, workerId: config.id, host: config.host, jobId: config.jobId, taskIndex: config.taskIndex, reason: loss.reason, detail: loss.detail ?? null });
    this.#losses.length = Math.min(this.#losses.length, KEEP.losses);
    this.#event('worker-lost', `worker ${config.id} (${config.host}, pid ${config.pid}) lost (${loss.reason})${loss.detail ? `: ${loss.detail}` : ''}`);
    this.#forgetOldLost();
  }

  #forgetOldLost(): void {
    const lost = [...this.#workers.values()].filter((entry) => entry.loss !== null);
    for (const entry of lost.slice(0, Math.max(0, lost.length - KEEP.lostWorkers))) this.#forget(entry);
  }

  #removed(config: WorkerConfig): void {
    const entry = this.#workers.get(config.id);
    if (entry) this.#forget(entry);
    this.#event('worker-removed', `worker ${config.id} (${config.host}, pid ${config.pid}) removed`);
  }

  #forget(entry: WorkerEntry): void {
    this.#callsDoneGone += entry.handle?.callsDone ?? 0;
    this.#workers.delete(entry.config.id);
  }

  #launch(id: string, manager: string): LaunchEntry {
    let entry = this.#launches.get(id);
    if (!entry) {
      const live = this.#sources.launch(id);
      entry = { id, manager, startedAt: live ? Math.round(Date.now() - live.elapsedMs()) : null, expected: live?.expected ?? null, joined: 0, lost: 0, message: null, jobs: new Map() };
      this.#launches.set(id, entry);
      for (const old of [...this.#launches.keys()].slice(0, Math.max(0, this.#launches.size - KEEP.launches))) this.#launches.delete(old);
    }
    return entry;
  }

  #launchProgress(progress: LaunchProgressEvent): void {
    const now = Date.now();
    const launch = this.#launch(progress.launchId, progress.manager);
    launch.startedAt ??= Math.round(now - progress.elapsedMs);
    launch.expected = progress.expected;
    const changed = launch.message !== progress.message;
    launch.message = progress.message;
    for (const jobId of progress.jobIds ?? []) {
      this.#jobIds.add(jobId);
      // Managers that count their tasks say so; for others, read the counts off the line.
      const states = progress.states ? progress.states.map(({ state, reason, count }) => ({ state, reason: reason ?? null, count })) : parseJobStates(progress);
      launch.jobs.set(jobId, { id: jobId, states, message: progress.message, updatedAt: now });
    }
    if (changed) this.#event('launch-progress', progress.message);
  }

  #describeLaunch(entry: LaunchEntry): LaunchSnapshot {
    const live = this.#sources.launch(entry.id);
    const expected = live?.expected ?? entry.expected;
    const joined = live ? live.joined.length : entry.joined;
    return {
      id: entry.id,
      manager: entry.manager,
      startedAt: entry.startedAt,
      active: live !== undefined,
      expected,
      joined,
      joining: live ? Math.max(0, live.expected - live.joined.length) : 0,
      lost: entry.lost,
      message: entry.message,
      jobs: [...entry.jobs.values()],
    };
  }

  #pmapProgress(progress: PmapProgressEvent): void {
    const id = progress.pmapId;
    const now = Date.now();
    const known = this.#pmaps.get(id);
    const by = progress.startedBy === undefined ? '' : ` (from worker ${progress.startedBy})`;
    if (!known) this.#event('pmap-started', `pmap ${id}${by} of ${progress.total.toLocaleString('en-US')} items started`);
    this.#pmapItemsDone += Math.max(0, progress.done - (known?.done ?? 0));
    const { ended } = progress;
    this.#pmaps.set(id, {
      id,
      startedBy: progress.startedBy ?? null,
      done: progress.done,
      total: progress.total,
      workers: progress.workers,
      startedAt: Math.round(now - progress.elapsedMs),
      elapsedMs: Math.round(progress.elapsedMs),
      ended,
    });
    if (ended && !known?.ended) {
      this.#event(
        'pmap-ended',
        `pmap ${id}${by} ${progress.done >= progress.total ? 'finished' : 'stopped'}: ${progress.done.toLocaleString('en-US')} of ${progress.total.toLocaleString('en-US')} items in ${(progress.elapsedMs / 1000).toFixed(1)} s`,
      );
      const finished = [...this.#pmaps.values()].filter((pmap) => pmap.ended);
      for (const old of finished.slice(0, Math.max(0, finished.length - KEEP.endedPmaps))) this.#pmaps.delete(old.id);
    }
  }

  #event(kind: EventSnapshot['kind'], text: string): void {
    this.#events.push({ at: Date.now(), kind, text });
    if (this.#events.length > KEEP.events) this.#events.splice(0, this.#events.length - KEEP.events);
  }
}

function describeWorker({ config, handle, queueWaitMs, loss }: WorkerEntry, now: number): WorkerSnapshot {
  const leaving = handle?.leaving;
  // The handle knows of a loss a moment before the event (which waits for the scheduler's verdict).
  const state = loss || (leaving && leaving.reason !== 'removed' && leaving.reason !== 'cluster-closed') ? 'lost' : leaving ? 'retiring' : (handle?.inFlight ?? 0) > 0 ? 'busy' : 'idle';
  const stats = handle?.stats;
  return {
    id: config.id,
    host: config.host,
    pid: config.pid,
    cpus: config.cpus,
    launchId: config.launchId,
    manager: config.manager.name,
    jobId: config.jobId,
    taskIndex: config.taskIndex,
    state,
    joinedAt: config.joinedAt,
    queueWaitMs,
    uptimeMs: Math.max(0, (loss?.at ?? now) - config.joinedAt),
    callsDone: handle?.callsDone ?? 0,
    callsInFlight: state === 'lost' ? 0 : (handle?.inFlight ?? 0),
    cpuPercent: stats ? stats.cpuPercent : null,
    rssBytes: stats ? stats.rssBytes : null,
    statsAt: stats ? stats.at : null,
    walltimeLeftMs: config.endsAt === null ? null : config.endsAt - now,
    loss: loss ?? (state === 'lost' && leaving ? { at: now, reason: leaving.reason, detail: leaving.detail ?? null } : null),
  };
}

/**
 * Per-state counts of a job, read back from the progress line (`describeProgress` in
 * batch/progress.ts writes it): `3 RUNNING, 5 PENDING (Priority)`, `PENDING (Resources)`,
 * `running`, `submitted`. A message of another shape gives the event's own state and reason.
 */
export function parseJobStates(progress: Pick<LaunchProgressEvent, 'message' | 'state' | 'reason'>): JobStateCount[] {
  const fallback: JobStateCount[] = progress.state ? [{ state: progress.state, reason: progress.reason ?? null, count: null }] : [];
  const line = /^.+? job \S+(?: \(array of \d+\))?: (.+?) - \d+\/\d+ workers joined/.exec(progress.message);
  if (!line) return fallback;
  const body = line[1]!;
  if (body === 'running' || body === 'submitted') return [{ state: progress.state ?? body, reason: null, count: null }];
  const parts = body.split(/, (?=\d+ )/);
  const counted = parts.map((part) => /^(\d+) (.+?)(?: \((.*)\))?$/.exec(part));
  if (counted.every((match) => match !== null)) {
    return counted.map((match) => ({ state: match[2]!, reason: match[3] ?? null, count: Number(match[1]) }));
  }
  const single = /^(.+?)(?: \((.*)\))?$/.exec(body);
  return single ? [{ state: single[1]!, reason: single[2] ?? null, count: null }] : fallback;
}
