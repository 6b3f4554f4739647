/**
 * The map dispatcher behind `pmap` and `imap`: dynamic load balancing over the cluster's
 * workers. Items come from a MapSource (an array, or an iterator pulled as workers have
 * room) and each result goes to a sink as it lands; `runPmap` is the array form.
 *
 * Items go out in batches (one Call frame each). Each worker has a window of calls in flight
 * so it never waits for its next one: PIPELINE_DEPTH calls at least, more while calls are short
 * (about QUEUE_TARGET_MS of estimated work queued per worker, at most MAX_WINDOW calls), so
 * tiny items (`batchSize: 1`) do not pay a round trip each, and long ones are not hoarded by
 * one worker while another idles. With `batchSize: 'auto'` the batch
 * size follows the measured time per item: about BATCH_TARGET_MS of work per batch, never
 * more than a fair share of what is left, so the tail stays balanced. Items lost with a
 * worker go back to the queue (a separate budget from user errors); every index is in at
 * most one batch at a time, so no item is lost and none lands twice in the result.
 *
 * Frame limits: a batch whose call or results would not fit in one frame (`maxFrameBytes`)
 * is split. Result sizes are measured, so batches stay at most half a frame of results; a
 * batch that still comes back too large is halved and run again.
 *
 * Poison items: an item lost with its worker is run alone from then on, so an item that
 * kills workers is found out, and innocent neighbours are not charged for it again: it goes to
 * a worker with nothing else in flight, which gets nothing else until it settles. An item
 * lost twice, the second time alone, is the likely cause: it is retried (within
 * `retry.lostWorkers`) only while at least two workers are left, so it never takes the last.
 * @module
 */
import { FRAME_TOO_LARGE, FrameTooLargeError, RemoteError, UsageError, WorkerLostError } from '../errors.js';
import type { MapOutcome } from '../protocol/messages.js';
import type { ResolvedPmapOptions } from './options.js';
import type { PreparedFunction } from './remote-function.js';
import type { WorkerHandle } from './worker-handle.js';

const PIPELINE_DEPTH = 2;
/** Estimated work queued on one worker that the window aims for: a few round trips' worth. */
const QUEUE_TARGET_MS = 2;
const MAX_WINDOW = 64;
const BATCH_TARGET_MS = 5;
const MAX_AUTO_BATCH = 10_000;

/** What pmap needs from the cluster. */
export interface PmapHost {
  /** Workers able to take calls now. */
  activeWorkers(): WorkerHandle[];
  /** Be told when a worker joins (returns an unsubscribe function). */
  onWorkerJoined(listener: () => void): () => void;
  /** Told after each batch how many items are done, and on how many workers (when someone reports progress). */
  onProgress?: ((done: number, workers: number) => void) | undefined;
  /** Count what the map holds in the cluster's demand (an adaptive pool follows it); returns an unregister function. */
  registerDemand?: ((waiting: () => number) => () => void) | undefined;
  /** An adaptive pool is bringing workers: with none eligible, wait for them instead of failing. */
  workersComing?: (() => boolean) | undefined;
}

interface Batch {
  readonly indices: number[];
  /** The items, position by position: the batch keeps them until it settles, for a retry. */
  readonly items: unknown[];
}

/** Results of a batch may fill this share of a frame (the rest is margin for items that vary). */
const RESULT_FRAME_SHARE = 0.5;

/**
 * Where a map's items come from. Indices are handed out in order from 0, one per item. The
 * source lets go of an item once taken: the dispatcher keeps it with its batch (or its retry)
 * until its result is accepted, so no per-item lookup is needed on the way out or back.
 */
export interface MapSource {
  /** Append up to `count` new items to `into` now (fewer when no more are ready); returns how many were taken. */
  take(count: number, into: unknown[]): number;
  /** Every item has been taken: no more will ever come. */
  readonly exhausted: boolean;
  /** Items that could still be taken now (for fair batch shares). */
  readonly available: number;
}

/** Told each result as it lands, and how the map ended. */
export interface MapSink {
  result(index: number, value: unknown): void;
  end(error?: Error): void;
}

/** A running map: `pump` when the source has new items, `stop` to end it early (calls in flight are cancelled). */
export interface MapRun {
  pump(): void;
  stop(error: Error): void;
}

export function runPmap(host: PmapHost, fn: PreparedFunction, items: readonly unknown[], options: ResolvedPmapOptions): Promise<unknown[]> {
  const total = items.length;
  const results: unknown[] = new Array(total);
  if (total === 0) return Promise.resolve(results);
  let next = 0;
  const source: MapSource = {
    take: (count, into) => {
      const first = next;
      next = Math.min(total, next + count);
      for (let index = first; index < next; index++) into.push(items[index]);
      return next - first;
    },
    get exhausted() {
      return next === total;
    },
    get available() {
      return total - next;
    },
  };
  return new Promise<unknown[]>((resolve, reject) => {
    startMap(host, fn, source, { result: (index, value) => (results[index] = value), end: (error) => (error ? reject(error) : resolve(results)) }, options);
  });
}

/** Run a map until its source is exhausted and every item's result is in (or it fails, or is stopped). */
export function startMap(host: PmapHost, fn: PreparedFunction, source: MapSource, sink: MapSink, options: Omit<ResolvedPmapOptions, 'progress'>): MapRun {
  const allowed = options.workers ? new Set(options.workers) : undefined;
  const eligible = () =>
    host.activeWorkers().filter((w) => {
      if (allowed && !allowed.has(w.id)) return false;
      const endsAt = w.config.endsAt;
      return endsAt === null || endsAt - Date.now() > options.walltimeMarginMs;
    });

  let nextFresh = 0;
  /** Items to run again (lost with a worker, failed, or split), a stack of indices and their items side by side. */
  const requeued: number[] = [];
  const requeuedItems: unknown[] = [];
  const requeue = (index: number, item: unknown) => {
    requeued.push(index);
    requeuedItems.push(item);
  };
  /** Items taken from the source whose results are not in yet. */
  let outstanding = 0;
  let done = 0;
  let perItemMs: number | undefined;
  const inFlight = new Map<WorkerHandle, number>();
  /** Workers running a suspect item (lost with a worker before): it runs there alone. */
  const isolated = new Set<WorkerHandle>();
  /** Calls in flight, so a map that ends early (abort, a failed item) cancels them on their workers. */
  const calls = new Map<number, { worker: WorkerHandle; callId: number }>();
  let nextCall = 0;
  let totalInFlight = 0;
  const errorAttempts = new Map<number, number>();
  const lostAttempts = new Map<number, number>();
  let lastLoss: WorkerLostError | undefined;
  /** Largest batch that fits a frame (calls that did not fit halve it). */
  let frameCap = Infinity;
  /** Largest result bytes per item seen so far. */
  let resultBytesPerItem = 0;

  let finished = false;
  const unsubscribeJoined = host.onWorkerJoined(() => pump());
  const unregisterDemand = host.registerDemand?.(() => source.available + outstanding) ?? (() => {});
  const unsubscribe = () => {
    unsubscribeJoined();
    unregisterDemand();
  };
  // A pool's new workers can only help a map that may use any worker.
  const coming = () => !allowed && host.workersComing?.() === true;
  const onAbort = () => finish(options.signal?.reason as Error);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  /** Results that arrive together (one read) settle in one burst of microtasks: refill once after all of them. */
  let pumpQueued = false;
  /** Items finished since the last progress report (reported once per burst, not per call). */
  let progressed = false;
  const schedulePump = () => {
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => {
      pumpQueued = false;
      pump();
    });
  };

  function finish(error?: Error): void {
    if (finished) return;
    finished = true;
    unsubscribe();
    options.signal?.removeEventListener('abort', onAbort);
    if (error) {
      // Their results would be discarded: free the workers (those that speak Cancel stop between items).
      for (const { worker, callId } of [...calls.values()]) worker.cancel(callId, error);
    }
    sink.end(error);
  }

  function batchSize(workers: number, limit: number): number {
    const fits = Math.min(frameCap, resultBytesPerItem > 0 ? Math.floor((limit * RESULT_FRAME_SHARE) / resultBytesPerItem) : Infinity);
    if (options.batchSize !== 'auto') return Math.max(1, Math.min(options.batchSize, fits));
    if (perItemMs === undefined) return 1;
    const undispatched = source.available + requeued.length;
    const fairShare = Math.ceil(undispatched / (workers * PIPELINE_DEPTH));
    return Math.max(1, Math.min(MAX_AUTO_BATCH, fairShare, fits, Math.round(BATCH_TARGET_MS / perItemMs)));
  }

  /** Calls a worker may have in flight: enough to cover round trips while calls are short. */
  function windowFor(size: number): number {
    if (perItemMs === undefined) return PIPELINE_DEPTH;
    return Math.max(PIPELINE_DEPTH, Math.min(MAX_WINDOW, Math.floor(QUEUE_TARGET_MS / (perItemMs * size))));
  }

  function suspectWaiting(): boolean {
    const next = requeued.at(-1);
    return next !== undefined && (lostAttempts.get(next) ?? 0) > 0;
  }

  function takeBatch(size: number, worker: WorkerHandle): Batch | undefined {
    // An item that was lost with a worker goes alone to an idle worker: if it is what kills workers, that shows.
    if (suspectWaiting()) {
      if ((inFlight.get(worker) ?? 0) > 0) return undefined;
      isolated.add(worker);
      return { indices: [requeued.pop()!], items: [requeuedItems.pop()] };
    }
    const indices: number[] = [];
    const items: unknown[] = [];
    while (indices.length < size && requeued.length > 0 && (lostAttempts.get(requeued.at(-1)!) ?? 0) === 0) {
      indices.push(requeued.pop()!);
      items.push(requeuedItems.pop());
    }
    const fresh = indices.length < size ? source.take(size - indices.length, items) : 0;
    for (let i = 0; i < fresh; i++) indices.push(nextFresh++);
    outstanding += fresh;
    return indices.length > 0 ? { indices, items } : undefined;
  }

  function pump(): void {
    if (finished) return;
    if (progressed) {
      progressed = false;
      host.onProgress?.(done, eligible().length);
    }
    if (outstanding === 0 && source.exhausted) return finish();
    if (options.signal?.aborted) return finish(options.signal.reason as Error);
    const workers = eligible();
    if (workers.length === 0 && totalInFlight === 0) {
      if (coming()) return; // an adaptive pool is bringing workers; their join pumps again
      return finish(lastLoss ?? new UsageError('pmap: no eligible workers are left (all removed, or too close to their walltime)'));
    }
    for (const worker of workers) {
      if (isolated.has(worker)) continue;
      // The calls of one pump go out in one write: the connection coalesces a tick's small frames.
      for (;;) {
        const size = batchSize(workers.length, worker.conn.maxFrameBytes);
        // Calls waiting on calls of their own (a nested pmap) do not fill the worker's window.
        if ((inFlight.get(worker) ?? 0) - worker.waiting >= windowFor(size)) break;
        const batch = takeBatch(size, worker);
        if (!batch) break;
        dispatch(worker, batch);
        if (isolated.has(worker)) break;
      }
    }
  }

  function dispatch(worker: WorkerHandle, batch: Batch): void {
    inFlight.set(worker, (inFlight.get(worker) ?? 0) + 1);
    totalInFlight++;
    const key = nextCall++;
    // Called as the Result is read (no promise per call: with batchSize 1 that is one per item).
    const done = (outcome: unknown) => {
      calls.delete(key);
      settled(worker);
      accept(worker, batch, outcome as MapOutcome);
      progressed = true;
      schedulePump();
    };
    const failed = (error: unknown) => {
      calls.delete(key);
      settled(worker);
      if (error instanceof WorkerLostError) requeueLost(worker, batch, error);
      else if (tooLarge(error as Error) && batch.indices.length > 1) split(batch);
      else finish(error instanceof Error ? error : new Error(String(error)));
      schedulePump();
    };
    try {
      worker.callWith(
        fn,
        // One item goes in the compact form (no list, no outcome object) to workers that know it.
        batch.indices.length === 1 && worker.speaksItemCalls ? 'item' : 'map',
        batch.items,
        done,
        failed,
        (bytes) => (resultBytesPerItem = Math.max(resultBytesPerItem, bytes / batch.indices.length)),
      );
      calls.set(key, { worker, callId: worker.lastCallId });
    } catch (error) {
      // Too big for one frame: split it (a single item that does not fit fails below).
      // Anything else cannot be serialized, and no retry will help. Not from inside the pump.
      queueMicrotask(() => failed(error));
    }
  }

  function settled(worker: WorkerHandle): void {
    isolated.delete(worker);
    inFlight.set(worker, (inFlight.get(worker) ?? 1) - 1);
    totalInFlight--;
  }

  function tooLarge(error: Error): boolean {
    return error instanceof FrameTooLargeError || (error instanceof RemoteError && error.remoteCode === FRAME_TOO_LARGE);
  }

  function accept(worker: WorkerHandle, batch: Batch, outcome: MapOutcome): void {
    const sample = Math.max(outcome.elapsedMs / batch.indices.length, 1e-4);
    perItemMs = perItemMs === undefined ? sample : 0.7 * perItemMs + 0.3 * sample;
    // Most batches have no failures: no set to build then (this runs once per item with batchSize 1).
    let failedAt: Set<number> | undefined;
    for (const [position, error] of outcome.failures) {
      const index = batch.indices[position]!;
      (failedAt ??= new Set()).add(position);
      const attempts = (errorAttempts.get(index) ?? 0) + 1;
      errorAttempts.set(index, attempts);
      if (attempts > options.retry.errors) {
        return finish(new RemoteError(worker.id, worker.config.host, { ...error, message: `${error.message} (pmap item ${index})` }));
      }
      requeue(index, batch.items[position]);
    }
    const values = outcome.values;
    for (let position = 0; position < batch.indices.length; position++) {
      if (failedAt?.has(position)) continue;
      const index = batch.indices[position]!;
      outstanding--;
      done++;
      // Empty but for items that failed or were lost before: skip the lookups then (this runs once per item).
      if (errorAttempts.size > 0) errorAttempts.delete(index);
      if (lostAttempts.size > 0) lostAttempts.delete(index);
      sink.result(index, values[position]);
      if (finished) return;
    }
  }

  /** A call or its results did not fit one frame: run the batch again in smaller ones. */
  function split(batch: Batch): void {
    frameCap = Math.max(1, Math.floor(batch.indices.length / 2));
    for (let i = batch.indices.length - 1; i >= 0; i--) requeue(batch.indices[i]!, batch.items[i]);
  }

  function requeueLost(worker: WorkerHandle, batch: Batch, error: WorkerLostError): void {
    lastLoss = error;
    for (let position = 0; position < batch.indices.length; position++) {
      const index = batch.indices[position]!;
      const attempts = (lostAttempts.get(index) ?? 0) + 1;
      lostAttempts.set(index, attempts);
      if (attempts > options.retry.lostWorkers) return finish(error);
      // Lost twice, the second time alone: this item is the likely cause. Never hand it the last worker.
      if (batch.indices.length === 1 && attempts >= 2 && eligible().filter((w) => w !== worker).length < 2) {
        return finish(
          new WorkerLostError(error.workerId, error.host, {
            reason: error.reason,
            detail: `${error.detail ?? error.reason}; pmap item ${index} was running alone on ${attempts} workers that were lost, so it is the likely cause and is not retried on the last worker`,
          }),
        );
      }
      requeue(index, batch.items[position]);
    }
  }

  if (eligible().length === 0 && !coming()) finish(new UsageError('pmap: no workers to run on; call addprocs first (or check the `workers` option)', 'workers'));
  else pump();
  return { pump: schedulePump, stop: (error) => finish(error) };
}
