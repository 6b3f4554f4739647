/**
 * Giving up on remote calls: reading a call's target and options (`2`, or
 * `{ worker: 2, signal, timeoutMs }`), and wiring a signal and a timeout to the call's
 * cancellation, so that an abort rejects at once with the signal's reason (as `fetch` does)
 * and the worker is told to abandon the call.
 * @module
 */
import { UsageError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import { parseOptions } from '../util/validate.js';
import { type CallOptions, type CallTarget, type SpawnTarget, callOptionsSchema, callTargetSchema, spawnTargetSchema } from './options.js';

/** A call's worker and, when it has any, its options. */
export interface ResolvedTarget<W> {
  worker: W;
  options: CallOptions | undefined;
}

/** `2` or `{ worker: 2, signal, timeoutMs }` → the worker and the options; a UsageError names what is wrong. */
export function resolveTarget(target: number | CallTarget, caller: string): ResolvedTarget<number> {
  if (typeof target === 'number') return { worker: target, options: undefined };
  if (typeof target !== 'object' || target === null) {
    throw new UsageError(`${caller}: the first argument must be a worker id or { worker, signal?, timeoutMs? }, got ${describeValue(target)}`, 'id');
  }
  const { worker, ...options } = parseOptions(callTargetSchema, target, `${caller} target`);
  return { worker, options };
}

export function resolveSpawnTarget(target: number | 'any' | SpawnTarget, caller: string): ResolvedTarget<number | 'any'> {
  if (typeof target === 'number' || target === 'any') return { worker: target, options: undefined };
  if (typeof target !== 'object' || target === null) {
    throw new UsageError(`${caller}: the first argument must be a worker id, 'any', or { worker, signal?, timeoutMs? }, got ${describeValue(target)}`, 'id');
  }
  const { worker, ...options } = parseOptions(spawnTargetSchema, target, `${caller} target`);
  return { worker, options };
}

export function resolveCallOptions(options: CallOptions | undefined, caller: string): CallOptions | undefined {
  return options === undefined ? undefined : parseOptions(callOptionsSchema, options, `${caller} options`);
}

/** The reason a call times out with: a `TimeoutError` DOMException, as `AbortSignal.timeout` gives. */
export function timeoutReason(what: string, timeoutMs: number): DOMException {
  return new DOMException(`${what} timed out after ${timeoutMs} ms`, 'TimeoutError');
}

/**
 * Call `cancel(reason)` when `options.signal` aborts or `options.timeoutMs` passes, until
 * `settled` settles. An already aborted signal cancels at once.
 */
export function cancelOn(options: CallOptions, settled: Promise<unknown>, cancel: (reason: unknown) => void, what: string): void {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) {
    cancel(signal.reason);
    return;
  }
  if (!signal && timeoutMs === undefined) return;
  const onAbort = () => cancel(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  // Unref'd: a call in flight holds the process open by itself (its socket is ref'd).
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => cancel(timeoutReason(what, timeoutMs)), timeoutMs).unref();
  const stop = () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  settled.then(stop, stop);
}
