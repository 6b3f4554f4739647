/**
 * A Future: the eventual result of a remote call. Await it, or call `fetch()`.
 * @module
 */
export class Future<T = unknown> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  #ready = false;

  /** @param workerId the worker the call runs on */
  constructor(
    readonly workerId: number,
    promise: Promise<T>,
  ) {
    this.#promise = promise;
    // Marks readiness, and (as a handled branch) keeps a Future nobody awaits from crashing
    // the process with an unhandled rejection; whoever awaits or fetches it still sees the error.
    const settle = () => {
      this.#ready = true;
    };
    promise.then(settle, settle);
  }

  /** The value, once the call has finished; rejects with the call's error. */
  fetch(): Promise<T> {
    return this.#promise;
  }

  /**
   * Wait until the call has finished; rejects with its error (like Julia's `wait`). Resolves
   * to nothing: a Promise cannot resolve to a Future (it is awaitable and would be unwrapped),
   * so keep the Future and `fetch()` it when you need the value.
   */
  async wait(): Promise<void> {
    await this.#promise;
  }

  /** Whether the call has finished (successfully or not). */
  isReady(): boolean {
    return this.#ready;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#promise.then(onFulfilled, onRejected);
  }
}

/** `fetch(x)`: the value of a Future, or `x` itself when it is not one (as in Julia). */
export async function fetch<T>(value: Future<T> | PromiseLike<T> | T): Promise<T> {
  if (value instanceof Future) return value.fetch();
  return value;
}
