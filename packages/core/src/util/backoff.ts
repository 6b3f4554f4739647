/**
 * The one backoff helper: exponential delays with jitter, capped. Used for reconnects,
 * submission retries and status polling.
 * @module
 */
export interface BackoffOptions {
  /** First delay in ms. */
  initialMs: number;
  /** Largest delay in ms. */
  maxMs: number;
  /** Growth per step (default 2). */
  factor?: number;
  /** Fraction of random spread around each delay, 0..1 (default 0.2), so many clients do not retry in lockstep. */
  jitter?: number;
}

/** An endless sequence of delays; take as many as you need. */
export function* backoffDelays(options: BackoffOptions): Generator<number, never> {
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  let delay = options.initialMs;
  for (;;) {
    const spread = delay * jitter * (Math.random() * 2 - 1);
    yield Math.max(0, Math.round(delay + spread));
    delay = Math.min(options.maxMs, delay * factor);
  }
}

/** Sleep that an AbortSignal can cut short (rejecting with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The first `count` values of an iterator (e.g. the first delays of {@link backoffDelays}). */
export function* take<T>(source: Iterator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) yield source.next().value as T;
}
