/**
 * `imap`: a map over an iterable or async iterable of any length — an endless generator, a
 * file read line by line — as an async iterator of results. It runs on pmap's dispatcher
 * (same batching, windows, retries and loss handling); what it adds is a source that pulls
 * items only when a worker has room, and a bound on what the master holds.
 *
 * The bound: at most `maxPending` items are taken from the input and not yet handed to the
 * consumer — in flight, waiting for a retry, or results waiting for their turn (ordered) or
 * to be read. Items an async input has produced ahead are counted in it too. So the master
 * holds at most `maxPending` items and their results, whatever the input's length, and a
 * consumer that stops reading stops the input being pulled.
 * @module
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import { type PmapOptions, pmapOptionsSchema } from './options.js';
import { type MapRun, type MapSource, type PmapHost, startMap } from './pmap.js';
import type { PreparedFunction } from './remote-function.js';

/** Room for two auto batches of up to 10,000 tiny items on each of a few workers, and a consumer that lags. */
const DEFAULT_MAX_PENDING = 65_536;

export const imapOptionsSchema = pmapOptionsSchema
  .omit({ progress: true })
  .extend({
    ordered: z.boolean().default(true),
    maxPending: z.number().int().positive().default(DEFAULT_MAX_PENDING),
  })
  .strict();

/** Options of `cluster.imap(fn, items, options)`: pmap's (but `progress`, as the length is unknown) and two of its own. */
export interface ImapOptions extends Omit<PmapOptions, 'progress'> {
  /**
   * Results in input order (`true`), or as they complete (`false`: a slow item does not hold
   * back the ones after it).
   * @defaultValue true
   */
  ordered?: boolean | undefined;
  /**
   * At most this many items are taken from the input and not yet handed to you (in flight,
   * waiting for a retry, or results waiting for their turn): the master's memory bound.
   * @defaultValue 65536
   */
  maxPending?: number | undefined;
}

export type ResolvedImapOptions = z.output<typeof imapOptionsSchema>;

/** A ring slot with no result in it (a result is never a symbol: structured clone cannot carry one). */
const EMPTY = Symbol('empty slot');

/**
 * The async iterator `cluster.imap` returns; the map starts on the first `next()`.
 *
 * Written for a `for await` that reads millions of tiny results: a `next()` with a result
 * ready is a ring read and one resolved promise, items go from the input straight into the
 * dispatcher's batches (the batch keeps them for retries, so nothing here holds them by
 * index), and results land in a ring (ordered) or a queue (as completed) with no per-item
 * object or closure.
 */
export class ImapIterator<T> implements AsyncIterableIterator<T> {
  readonly #host: PmapHost;
  readonly #fn: PreparedFunction;
  readonly #options: ResolvedImapOptions;
  readonly #ordered: boolean;
  readonly #maxPending: number;
  readonly #input: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #async: boolean;
  #run: MapRun | undefined;
  /** Items an async input produced that no worker has taken yet. */
  readonly #ahead: unknown[] = [];
  #taken = 0;
  #yielded = 0;
  #inputDone = false;
  /** The input threw: the map ends with this (not as if the input had ended). */
  #inputError: Error | undefined;
  #fetching = false;
  /** The dispatcher asked for more than the bound let in. */
  #starved = false;
  /**
   * Ordered results that are in and not yet read, at `index & #mask`: every such index lies in
   * [yielded, yielded + maxPending), so a ring of that size (rounded up to a power of two) holds
   * them without a hash table.
   */
  readonly #ring: unknown[];
  readonly #mask: number;
  /** Results as completed (`ordered: false`) not yet read, oldest from `#completedHead`. */
  #completed: unknown[] = [];
  #completedHead = 0;
  #ended = false;
  #endError: Error | undefined;
  /** The consumer stopped (break, return) or read the end: nothing more is reported. */
  #closed = false;
  /** `next()` calls waiting for a result, first come first served (a caller may ask again before an answer). */
  readonly #waiters: Array<{ resolve(step: IteratorResult<T>): void; reject(error: unknown): void }> = [];

  constructor(host: PmapHost, fn: PreparedFunction, items: Iterable<unknown> | AsyncIterable<unknown>, options: ResolvedImapOptions) {
    this.#host = host;
    this.#fn = fn;
    this.#options = options;
    this.#ordered = options.ordered;
    this.#maxPending = options.maxPending;
    const size = options.ordered ? 2 ** Math.ceil(Math.log2(options.maxPending)) : 0;
    this.#ring = new Array<unknown>(size).fill(EMPTY);
    this.#mask = Math.max(0, size - 1);
    const candidate = items as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null | undefined;
    const asyncIterator = typeof items === 'string' ? undefined : candidate?.[Symbol.asyncIterator];
    const iterator = typeof items === 'string' ? undefined : candidate?.[Symbol.iterator];
    if (typeof asyncIterator === 'function') {
      this.#input = asyncIterator.call(items);
      this.#async = true;
    } else if (typeof iterator === 'function') {
      this.#input = iterator.call(items);
      this.#async = false;
    } else {
      throw new UsageError(`imap: items must be an iterable or async iterable, got ${describeValue(items)}`, 'items');
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.#read();
    if (value !== EMPTY) return Promise.resolve({ done: false, value: value as T });
    return this.#await();
  }

  /** The loop ended early (`break`, `return`, a throw in its body): cancel what runs and release the input. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#run?.stop(new DOMException('imap: the loop over its results ended early', 'AbortError'));
      this.#closeInput();
      this.#reset();
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The next result if it is in (and counts it as handed over), else EMPTY. */
  #read(): unknown {
    let value: unknown;
    if (this.#ordered) {
      const slot = this.#yielded & this.#mask;
      value = this.#ring[slot];
      if (value === EMPTY) return EMPTY;
      this.#ring[slot] = EMPTY;
    } else {
      const completed = this.#completed;
      if (this.#completedHead === completed.length) return EMPTY;
      value = completed[this.#completedHead++];
      if (this.#completedHead === completed.length) {
        this.#completed = [];
        this.#completedHead = 0;
      }
    }
    this.#yielded++;
    // The dispatcher was held back by the bound: wake it once a quarter of the bound is free (not per result).
    if (this.#starved && this.#room() >= this.#maxPending / 4) {
      this.#starved = false;
      this.#run?.pump();
    }
    return value;
  }

  /** No result is ready: start the map (first call), end the iteration, or wait for a result. */
  #await(): Promise<IteratorResult<T>> {
    if (this.#closed) return Promise.resolve({ done: true, value: undefined });
    if (this.#run === undefined) {
      this.#run = startMap(this.#host, this.#fn, this.#source(), { result: (index, value) => this.#result(index, value), end: (error) => this.#end(error) }, this.#options);
      const value = this.#read();
      if (value !== EMPTY) return Promise.resolve({ done: false, value: value as T });
    }
    if (this.#ended) {
      const error = this.#conclude();
      return error ? Promise.reject(error) : Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** The map ended and every result it could hand over was read: the iteration is over, with the map's error if it failed. */
  #conclude(): Error | undefined {
    this.#closed = true;
    const error = this.#endError;
    this.#reset();
    return error;
  }

  #result(index: number, value: unknown): void {
    if (this.#closed) return;
    if (this.#ordered) this.#ring[index & this.#mask] = value;
    else this.#completed.push(value);
    if (this.#waiters.length > 0) this.#wake();
  }

  #end(error: Error | undefined): void {
    if (this.#closed) return;
    this.#ended = true;
    this.#endError = error;
    if (error) this.#closeInput();
    this.#wake();
  }

  /** Settle waiting `next()` calls with the results in, and the first one left with the end once nothing more can come. */
  #wake(): void {
    const waiters = this.#waiters;
    while (waiters.length > 0) {
      const value = this.#read();
      if (value === EMPTY) break;
      waiters.shift()!.resolve({ done: false, value: value as T });
    }
    if (waiters.length === 0 || !this.#ended) return;
    const first = waiters.shift()!; // before #conclude: its reset settles the others as done, not this one
    const error = this.#conclude();
    if (error) first.reject(error);
    else first.resolve({ done: true, value: undefined });
  }

  #reset(): void {
    this.#ring.fill(EMPTY);
    this.#ahead.length = 0;
    this.#completed = [];
    this.#completedHead = 0;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ done: true, value: undefined });
  }

  /** Items the bound still lets in. */
  #room(): number {
    return this.#maxPending - (this.#taken - this.#yielded) - this.#ahead.length;
  }

  #source(): MapSource {
    const exhausted = () => this.#inputDone && this.#ahead.length === 0 && this.#inputError === undefined;
    // The input's length is unknown: batch as if the bound's worth were waiting.
    const available = () => (this.#inputDone ? this.#ahead.length : this.#maxPending);
    return {
      take: (count, into) => this.#take(count, into),
      get exhausted() {
        return exhausted();
      },
      get available() {
        return available();
      },
    };
  }

  #take(count: number, into: unknown[]): number {
    const ahead = this.#ahead;
    const early = Math.min(count, ahead.length);
    if (early > 0) {
      for (let i = 0; i < early; i++) into.push(ahead[i]);
      ahead.splice(0, early);
      this.#taken += early;
    }
    const room = this.#room();
    if (count - early > room) this.#starved = true;
    const want = Math.min(count - early, room);
    if (want <= 0 || this.#inputDone || this.#closed) return early;
    if (this.#async) {
      if (!this.#fetching) void this.#fetch(want);
      return early;
    }
    const pulled = this.#pull(this.#input as Iterator<unknown>, want, into);
    this.#taken += pulled;
    return early + pulled;
  }

  /** Up to `want` items of a sync input, appended to `into`; a throw ends the input (and, once the pump returns, the map). */
  #pull(input: Iterator<unknown>, want: number, into: unknown[]): number {
    let pulled = 0;
    try {
      while (pulled < want) {
        const step = input.next();
        if (step.done) {
          this.#inputDone = true;
          break;
        }
        into.push(step.value);
        pulled++;
      }
    } catch (error) {
      this.#inputFailed(error);
    }
    return pulled;
  }

  /** Pull up to `count` items from an async input; each wakes the dispatcher. */
  async #fetch(count: number): Promise<void> {
    this.#fetching = true;
    const input = this.#input as AsyncIterator<unknown>;
    try {
      for (let i = 0; i < count && !this.#closed && !this.#ended; i++) {
        const step = await input.next();
        if (step.done) {
          this.#inputDone = true;
          break;
        }
        if (this.#closed) break;
        this.#ahead.push(step.value);
        this.#run?.pump();
      }
    } catch (error) {
      this.#inputFailed(error);
    } finally {
      this.#fetching = false;
      this.#run?.pump();
    }
  }

  #inputFailed(error: unknown): void {
    this.#inputDone = true; // a throwing iterator is finished
    const failure = error instanceof Error ? error : new Error(`imap: the input threw ${describeValue(error)}`);
    this.#inputError = failure;
    // Not from inside the dispatcher's pump: stop it once the pump returns.
    queueMicrotask(() => this.#run?.stop(failure));
  }

  #closeInput(): void {
    if (this.#inputDone) return;
    this.#inputDone = true;
    try {
      const closing = this.#input.return?.();
      if (closing instanceof Promise) closing.catch(() => {});
    } catch {
      // The input could not be closed (a generator that is running): it is dropped anyway.
    }
  }
}
