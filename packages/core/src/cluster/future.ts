/**
 * A Future: the eventual result of a remote call. Await it, or call `fetch()`; give up on it
 * with `fetch({ signal, timeoutMs })`.
 * @module
 */
import { type CallOptions } from './options.js';
import { fetchUnlessGivenUp } from '../util/give-up.js';
import { resolveCallOptions } from './calls.js';

export class Future<T = unknown> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  readonly #cancel: ((reason: unknown) => void) | undefined;
  #ready = false;

  /**
   * @param workerId the worker the call runs on
   * @param cancel gives up on the call (rejecting `promise` with the reason) and tells its worker to abandon it
   */
  constructor(
    readonly workerId: number,
    promise: Promise<T>,
    cancel?: (reason: unknown) => void,
  ) {
    this.#promise = promise;
    this.#cancel = cancel;
    // Marks readiness, and (as a handled branch) keeps a Future nobody awaits from crashing
    // the process with an unhandled rejection; whoever awaits or fetches it still sees the error.
    const settle = () => {
      this.#ready = true;
    };
    promise.then(settle, settle);
  }

  /**
   * The value, once the call has finished; rejects with the call's error.
   *
   * With `signal` or `timeoutMs`, giving up cancels the call: it rejects with the signal's
   * reason (a `TimeoutError` DOMException for `timeoutMs`) for every holder of this Future,
   * and the worker is told to abandon it (the function's `currentSignal()` aborts).
   */
  fetch(options?: CallOptions): Promise<T> {
    const resolved = resolveCallOptions(options, 'Future.fetch');
    if (!resolved || this.#ready) return this.#promise;
    return fetchUnlessGivenUp(this.#promise, resolved, this.#cancel, `the call on worker ${this.workerId}`);
  }

  /**
   * Wait until the call has finished; rejects with its error (like Julia's `wait`). Resolves
   * to nothing: a Promise cannot resolve to a Future (it is awaitable and would be unwrapped),
   * so keep the Future and `fetch()` it when you need the value. Options as for `fetch`.
   */
  async wait(options?: CallOptions): Promise<void> {
    await this.fetch(options);
  }

  /** Whether the call has finished (successfully or not). */
  isReady(): boolean {
    return this.#ready;
  }

  then<R1 = T, R2 = never>(onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.#promise.then(onFulfilled, onRejected);
  }
}

/** `fetch(x)`: the value of a Future, or `x` itself when it is not one (as in Julia). */
export async function fetch<T>(value: Future<T> | PromiseLike<T> | T, options?: CallOptions): Promise<T> {
  if (value instanceof Future) return value.fetch(options);
  return value;
}
