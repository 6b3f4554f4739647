/**
 * The Future of a call a worker makes (peer-api.ts): the same surface as the master's Future
 * (`fetch`, `wait`, `isReady`, `then`, `workerId`), plus what makes it a reference other
 * processes can fetch. A Future sent elsewhere arrives as a plain object (structured clone
 * keeps own fields, not classes): `{ workerId, futureOwner, futureRef }`, and `fetchFuture`
 * on any process asks the owner for the value.
 * @module
 */
import { fetchUnlessGivenUp, giveUpOptionsSchema } from '../util/give-up.js';
import { parseOptions } from '../util/validate.js';

/** What a Future sent to another process arrives as: the process that made the call, and its reference there. */
export interface FutureRef {
  /** The worker the call ran on. */
  readonly workerId: number;
  /** The process that made the call and holds its outcome. */
  readonly futureOwner: number;
  /** The Future's number on its owner. */
  readonly futureRef: number;
}

/** Whether `value` is a Future or what one becomes when it is sent to another process. */
export function isFutureRef(value: unknown): value is FutureRef {
  const candidate = value as Partial<FutureRef> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.futureOwner === 'number' && typeof candidate.futureRef === 'number';
}

/** `{ signal?, timeoutMs? }`, the master's `callOptionsSchema` (util/give-up.ts). */
export const peerCallOptionsSchema = giveUpOptionsSchema;

export interface PeerCallOptions {
  /** Give up when it aborts: the call rejects with its reason and the target is told to abandon it. */
  signal?: AbortSignal | undefined;
  /** Give up after this many milliseconds, with a `TimeoutError` DOMException. */
  timeoutMs?: number | undefined;
}

export function resolvePeerCallOptions(options: PeerCallOptions | undefined, caller: string): PeerCallOptions | undefined {
  return options === undefined ? undefined : parseOptions(peerCallOptionsSchema, options, `${caller} options`);
}

/**
 * What `remotecall` and `spawnAt` return from `@cm/core`'s top-level functions: on a worker a
 * {@link PeerFuture}, on the master the Cluster's `Future` — the same methods either way.
 */
export interface RemoteFuture<T = unknown> extends PromiseLike<T> {
  /** The process the call runs on. */
  readonly workerId: number;
  /** The value once the call has finished; with `signal` or `timeoutMs`, giving up cancels the call. */
  fetch(options?: PeerCallOptions): Promise<T>;
  /** Wait until the call has finished; rejects with its error. */
  wait(options?: PeerCallOptions): Promise<void>;
  /** Whether the call has finished (successfully or not). */
  isReady(): boolean;
}

/**
 * The eventual result of a call made on a worker. Await it or `fetch()` it; send it to
 * another process (as an argument or inside a result) and `fetchFuture` it there.
 */
export class PeerFuture<T = unknown> implements RemoteFuture<T>, FutureRef {
  readonly #promise: Promise<T>;
  readonly #cancel: ((reason: unknown) => void) | undefined;
  #ready = false;

  /**
   * @param workerId the process the call runs on
   * @param futureOwner the process that made the call (this one)
   * @param futureRef its number on the owner, for fetches from elsewhere
   */
  constructor(
    readonly workerId: number,
    readonly futureOwner: number,
    readonly futureRef: number,
    promise: Promise<T>,
    cancel?: (reason: unknown) => void,
  ) {
    this.#promise = promise;
    this.#cancel = cancel;
    const settle = () => {
      this.#ready = true;
    };
    // Also keeps a Future nobody awaits from being an unhandled rejection.
    promise.then(settle, settle);
  }

  /** The value once the call has finished; with `signal` or `timeoutMs`, giving up cancels the call. */
  fetch(options?: PeerCallOptions): Promise<T> {
    const resolved = resolvePeerCallOptions(options, 'Future.fetch');
    if (!resolved || this.#ready) return this.#promise;
    return fetchUnlessGivenUp(this.#promise, resolved, this.#cancel, `the call on process ${this.workerId}`);
  }

  /** Wait until the call has finished; rejects with its error. */
  async wait(options?: PeerCallOptions): Promise<void> {
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
