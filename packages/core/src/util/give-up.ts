/**
 * Giving up on a call, the same way on the master (cluster/calls.ts, Future) and on a worker
 * (worker/peer-api.ts, PeerFuture): one schema for `{ signal, timeoutMs }`, and one wiring of
 * them to the call's cancellation, so an abort rejects at once with the signal's reason (as
 * `fetch` does) and a timeout with a `TimeoutError` DOMException (as `AbortSignal.timeout`).
 * @module
 */
import { z } from 'zod';
import { MAX_TIMER_MS } from './keep-alive.js';

/** Milliseconds a Node.js timer can wait, at least `min`. */
export const timerMs = (min: number) => z.number().int().min(min).max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days): Node.js timers cannot wait longer`);

/** `{ signal?, timeoutMs? }` of one call, strict. */
export const giveUpOptionsSchema = z
  .object({
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
    timeoutMs: timerMs(1).optional(),
  })
  .strict();

/** When to give up on a call (the documented interfaces are `CallOptions` and `PeerCallOptions`). */
export interface GiveUpOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** The reason a call times out with: a `TimeoutError` DOMException, as `AbortSignal.timeout` gives. */
export function timeoutReason(what: string, timeoutMs: number): DOMException {
  return new DOMException(`${what} timed out after ${timeoutMs} ms`, 'TimeoutError');
}

/**
 * Call `cancel(reason)` when `options.signal` aborts or `options.timeoutMs` passes, until
 * `settled` settles. An already aborted signal cancels at once.
 */
export function cancelOn(options: GiveUpOptions, settled: Promise<unknown>, cancel: (reason: unknown) => void, what: string): void {
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

/**
 * A Future's `fetch(options)`: `outcome` itself, or a promise that rejects with the reason
 * as soon as the caller gives up — after `cancel(reason)` has given up on the call for every
 * holder of the Future and told its worker to abandon it.
 */
export function fetchUnlessGivenUp<T>(outcome: Promise<T>, options: GiveUpOptions, cancel: ((reason: unknown) => void) | undefined, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    outcome.then(resolve, reject);
    cancelOn(
      options,
      outcome,
      (reason) => {
        cancel?.(reason);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's reason, whatever it is, as fetch() does
        reject(reason);
      },
      what,
    );
  });
}
