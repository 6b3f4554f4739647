/**
 * `pmap`: dynamic load balancing over the cluster's workers, results in input order.
 *
 * Items go out in batches (one Call frame each), at most PIPELINE_DEPTH batches in flight
 * per worker so a worker never waits for its next batch. With `batchSize: 'auto'` the batch
 * size follows the measured time per item: about BATCH_TARGET_MS of work per batch, never
 * more than a fair share of what is left, so the tail stays balanced. Items lost with a
 * worker go back to the queue (a separate budget from user errors); every index is in at
 * most one batch at a time, so no item is lost and none lands twice in the result.
 * @module
 */
import { RemoteError, UsageError, WorkerLostError } from '../errors.js';
import type { MapOutcome } from '../protocol/messages.js';
import type { ResolvedPmapOptions } from './options.js';
import type { PreparedFunction } from './remote-function.js';
import type { WorkerHandle } from './worker-handle.js';

const PIPELINE_DEPTH = 2;
const BATCH_TARGET_MS = 5;
const MAX_AUTO_BATCH = 10_000;

/** What pmap needs from the cluster. */
export interface PmapHost {
  /** Workers able to take calls now. */
  activeWorkers(): WorkerHandle[];
  /** Be told when a worker joins (returns an unsubscribe function). */
  onWorkerJoined(listener: () => void): () => void;
}

interface Batch {
  indices: number[];
}

export function runPmap(host: PmapHost, fn: PreparedFunction, items: readonly unknown[], options: ResolvedPmapOptions): Promise<unknown[]> {
  const total = items.length;
  const results: unknown[] = new Array(total);
  if (total === 0) return Promise.resolve(results);
  const allowed = options.workers ? new Set(options.workers) : undefined;
  const eligible = () =>
    host.activeWorkers().filter((w) => {
      if (allowed && !allowed.has(w.id)) return false;
      const endsAt = w.config.endsAt;
      return endsAt === null || endsAt - Date.now() > options.walltimeMarginMs;
    });
  if (eligible().length === 0) {
    return Promise.reject(new UsageError('pmap: no workers to run on; call addprocs first (or check the `workers` option)', 'workers'));
  }

  let nextFresh = 0;
  const requeued: number[] = [];
  let remaining = total;
  let perItemMs: number | undefined;
  const inFlight = new Map<WorkerHandle, number>();
  let totalInFlight = 0;
  const errorAttempts = new Map<number, number>();
  const lostAttempts = new Map<number, number>();
  let lastLoss: WorkerLostError | undefined;

  return new Promise<unknown[]>((resolve, reject) => {
    let finished = false;
    const unsubscribe = host.onWorkerJoined(() => pump());
    const onAbort = () => finish(options.signal?.reason as Error);
    options.signal?.addEventListener('abort', onAbort, { once: true });

    function finish(error?: Error): void {
      if (finished) return;
      finished = true;
      unsubscribe();
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(results);
    }

    function batchSize(workers: number): number {
      if (options.batchSize !== 'auto') return options.batchSize;
      if (perItemMs === undefined) return 1;
      const undispatched = total - nextFresh + requeued.length;
      const fairShare = Math.ceil(undispatched / (workers * PIPELINE_DEPTH));
      return Math.max(1, Math.min(MAX_AUTO_BATCH, fairShare, Math.round(BATCH_TARGET_MS / perItemMs)));
    }

    function takeBatch(size: number): Batch | undefined {
      const indices: number[] = [];
      while (indices.length < size && requeued.length > 0) indices.push(requeued.pop()!);
      while (indices.length < size && nextFresh < total) indices.push(nextFresh++);
      return indices.length > 0 ? { indices } : undefined;
    }

    function pump(): void {
      if (finished) return;
      if (remaining === 0) return finish();
      if (options.signal?.aborted) return finish(options.signal.reason as Error);
      const workers = eligible();
      if (workers.length === 0 && totalInFlight === 0) {
        return finish(lastLoss ?? new UsageError('pmap: no eligible workers are left (all removed, or too close to their walltime)'));
      }
      for (const worker of workers) {
        while ((inFlight.get(worker) ?? 0) < PIPELINE_DEPTH) {
          const batch = takeBatch(batchSize(workers.length));
          if (!batch) return;
          dispatch(worker, batch);
        }
      }
    }

    function dispatch(worker: WorkerHandle, batch: Batch): void {
      inFlight.set(worker, (inFlight.get(worker) ?? 0) + 1);
      totalInFlight++;
      let call: Promise<unknown>;
      try {
        call = worker.call(fn, 'map', batch.indices.map((i) => items[i]));
      } catch (error) {
        // The items cannot be serialized: no retry will help.
        call = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      call.then(
        (outcome) => {
          settled(worker);
          accept(worker, batch, outcome as MapOutcome);
          pump();
        },
        (error: Error) => {
          settled(worker);
          if (error instanceof WorkerLostError) requeueLost(batch, error);
          else finish(error);
          pump();
        },
      );
    }

    function settled(worker: WorkerHandle): void {
      inFlight.set(worker, (inFlight.get(worker) ?? 1) - 1);
      totalInFlight--;
    }

    function accept(worker: WorkerHandle, batch: Batch, outcome: MapOutcome): void {
      const sample = Math.max(outcome.elapsedMs / batch.indices.length, 1e-4);
      perItemMs = perItemMs === undefined ? sample : 0.7 * perItemMs + 0.3 * sample;
      const failedAt = new Set<number>();
      for (const [position, error] of outcome.failures) {
        const index = batch.indices[position]!;
        failedAt.add(position);
        const attempts = (errorAttempts.get(index) ?? 0) + 1;
        errorAttempts.set(index, attempts);
        if (attempts > options.retry.errors) {
          return finish(new RemoteError(worker.id, worker.config.host, { ...error, message: `${error.message} (pmap item ${index})` }));
        }
        requeued.push(index);
      }
      const values = outcome.values;
      for (let position = 0; position < batch.indices.length; position++) {
        if (failedAt.has(position)) continue;
        results[batch.indices[position]!] = values[position];
        remaining--;
      }
    }

    function requeueLost(batch: Batch, error: WorkerLostError): void {
      lastLoss = error;
      for (const index of batch.indices) {
        const attempts = (lostAttempts.get(index) ?? 0) + 1;
        lostAttempts.set(index, attempts);
        if (attempts > options.retry.lostWorkers) return finish(error);
        requeued.push(index);
      }
    }

    pump();
  });
}
