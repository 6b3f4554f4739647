/**
 * The adaptive pools' part of `cluster.snapshot()`: each pool's bounds and figures now (read
 * from the pool when the snapshot is taken, like the workers' live figures), its running
 * totals, and its decisions as events for the snapshot's event log. Kept apart from
 * snapshot.ts so the recorder of events stays one thing and pools can grow fields alone.
 * @module
 */
import type { EventEmitter } from 'node:events';
import type { AdaptEvents, AdaptFigures } from './adapt-options.js';

/** Stopped pools kept in the snapshot (newest), after the running ones. */
const KEEP_STOPPED_POOLS = 5;

/** One adaptive pool (`cluster.adapt`), as the snapshot shows it. */
export interface PoolSnapshot {
  /** Which pool of the cluster (1, 2, …), in the order they started. */
  id: number;
  /** The adapted manager's name (`local`, `slurm`…). */
  manager: string;
  /** Unix ms of `cluster.adapt`. */
  startedAt: number;
  /** Workers the pool keeps even with no work (`AdaptOptions.minimum`). */
  minimum: number;
  /** Workers the pool never exceeds (`AdaptOptions.maximum`, or the manager's worker count). */
  maximum: number;
  /** Items waiting or running in maps, plus plain calls in flight (the whole cluster's). */
  demand: number;
  /** Workers of the pool that count as capacity (joined, not near their walltime). */
  workers: number;
  /** Workers of the pool near their walltime, retired once idle. */
  ending: number;
  /** Workers launched and not joined yet (queued jobs count here). */
  pending: number;
  /** Workers the pool aims at: demand ÷ itemsPerWorker, within minimum and maximum. */
  target: number;
  /** Why growth is paused (the scheduler's refusal, or repeated launch failures), or null. */
  paused: string | null;
  stopped: boolean;
  /** Launches started, queued workers cancelled and idle workers retired since the pool began. */
  launches: number;
  cancelled: number;
  retired: number;
}

/** The event kinds pools add to the snapshot's event log. */
export type PoolEventKind = 'pool-scale-up' | 'pool-scale-down' | 'pool-retire' | 'pool-launch-failed' | 'pool-paused' | 'pool-stopped';

/** What the recorder reads of a pool (a structural view of AdaptHandle). */
export interface ObservedPool extends EventEmitter<AdaptEvents> {
  state(): AdaptFigures & { minimum: number; maximum: number; paused: string | undefined; stopped: boolean };
  readonly launches: number;
  readonly cancelled: number;
  readonly retired: number;
}

interface PoolEntry {
  readonly id: number;
  readonly manager: string;
  readonly startedAt: number;
  readonly pool: ObservedPool;
  stoppedAt: number | undefined;
}

/** Keeps the cluster's pools and words their decisions as events. */
export class PoolRecorder {
  readonly #pools: PoolEntry[] = [];
  readonly #event: (kind: PoolEventKind, text: string) => void;
  #started = 0;

  constructor(event: (kind: PoolEventKind, text: string) => void) {
    this.#event = event;
  }

  /** Follow a pool from its start until it stops (and a while after, as a stopped pool). */
  watch(pool: ObservedPool, manager: string): void {
    const entry: PoolEntry = { id: ++this.#started, manager, startedAt: Date.now(), pool, stoppedAt: undefined };
    this.#pools.push(entry);
    const name = `pool ${entry.id} (${manager})`;
    const figures = (f: AdaptFigures) => `demand ${f.demand}, ${f.workers} workers, ${f.pending} pending, target ${f.target}`;
    pool.on('scale-up', (e) => this.#event('pool-scale-up', `${name}: launched ${e.launched} worker${e.launched === 1 ? '' : 's'} (${e.reason}; ${figures(e)})`));
    pool.on('scale-down', (e) => this.#event('pool-scale-down', `${name}: cancelled ${e.cancelled} queued worker${e.cancelled === 1 ? '' : 's'} (${e.reason}; ${figures(e)})`));
    pool.on('retire', (e) => this.#event('pool-retire', `${name}: retired worker ${e.workerId} (${e.reason}, idle ${Math.round(e.idleMs / 1000)} s)`));
    pool.on('launch-failed', (e) => this.#event('pool-launch-failed', `${name}: launch failed (${e.failures} in a row): ${e.error.message}`));
    pool.on('paused', (e) => this.#event('pool-paused', `${name}: growth paused (${e.reason}): ${e.message}`));
    pool.once('stopped', () => {
      entry.stoppedAt = Date.now();
      this.#event('pool-stopped', `${name}: stopped`);
      const stopped = this.#pools.filter((p) => p.stoppedAt !== undefined);
      for (const old of stopped.slice(0, Math.max(0, stopped.length - KEEP_STOPPED_POOLS))) this.#pools.splice(this.#pools.indexOf(old), 1);
    });
  }

  /** Running pools in the order they started, then the stopped ones kept. */
  describe(): PoolSnapshot[] {
    return [...this.#pools]
      .sort((a, b) => Number(a.stoppedAt !== undefined) - Number(b.stoppedAt !== undefined) || a.id - b.id)
      .map(({ id, manager, startedAt, pool }) => {
        const { demand, workers, ending, pending, target, minimum, maximum, paused, stopped } = pool.state();
        return {
          id,
          manager,
          startedAt,
          minimum,
          maximum,
          demand,
          workers,
          ending,
          pending,
          target,
          paused: paused ?? null,
          stopped,
          launches: pool.launches,
          cancelled: pool.cancelled,
          retired: pool.retired,
        };
      });
  }
}
