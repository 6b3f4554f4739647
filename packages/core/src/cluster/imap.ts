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

type Step = IteratorResult<unknown>;

const EMPTY = Symbol('empty slot');

/**
 * Values by index. Ordered, every index held lies in [yielded, yielded + maxPending), so a
 * ring of that size holds them without a hash table (Map churn was a fifth of imap's time);
 * unordered, a slow item can stay while later ones pass, so a Map.
 */
class Slots {
  readonly #ring: unknown[] | undefined;
  readonly #size: number;
  readonly #map = new Map<number, unknown>();

  constructor(ordered: boolean, bound: number) {
    const size = 2 ** Math.ceil(Math.log2(bound));
    this.#ring = ordered ? new Array<unknown>(size).fill(EMPTY) : undefined;
    this.#size = size;
  }

  set(index: number, value: unknown): void {
    if (this.#ring) this.#ring[index % this.#size] = value;
    else this.#map.set(index, value);
  }

  has(index: number): boolean {
    return this.#ring ? this.#ring[index % this.#size] !== EMPTY : this.#map.has(index);
  }

  get(index: number): unknown {
    return this.#ring ? this.#ring[index % this.#size] : this.#map.get(index);
  }

  delete(index: number): void {
    if (this.#ring) this.#ring[index % this.#size] = EMPTY;
    else this.#map.delete(index);
  }

  clear(): void {
    this.#ring?.fill(EMPTY);
    this.#map.clear();
  }
}

/** The async iterator `cluster.imap` returns; the map starts on the first `next()`. */
export class ImapIterator<T> implements AsyncIterableIterator<T> {
  readonly #host: PmapHost;
  readonly #fn: PreparedFunction;
  readonly #options: ResolvedImapOptions;
  readonly #input: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #async: boolean;
  #run: MapRun | undefined;
  /** Items taken from the input whose results are not in yet (kept for retries). */
  readonly #held: Slots;
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
  /** Ordered results that arrived before their turn, by index. */
  readonly #arrived: Slots;
  /** Unordered results not yet read, oldest first. */
  #completed: unknown[] = [];
  #completedHead = 0;
  #ended = false;
  #endError: Error | undefined;
  /** The consumer stopped (break, return): nothing more is reported. */
  #closed = false;
  #waiter: { resolve(step: IteratorResult<T>): void; reject(error: unknown): void } | undefined;

  constructor(host: PmapHost, fn: PreparedFunction, items: Iterable<unknown> | AsyncIterable<unknown>, options: ResolvedImapOptions) {
    this.#host = host;
    this.#fn = fn;
    this.#options = options;
    this.#held = new Slots(options.ordered, options.maxPending);
    this.#arrived = new Slots(true, options.ordered ? options.maxPending : 1);
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
    if (this.#closed) return Promise.resolve({ done: true, value: undefined });
    this.#run ??= startMap(this.#host, this.#fn, this.#source(), { result: (index, value) => this.#result(index, value), end: (error) => this.#end(error) }, this.#options);
    const step = this.#step();
    if (step) return step;
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
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

  /** The next result if one is ready, the end if the map ended, else undefined (wait). */
  #step(): Promise<IteratorResult<T>> | undefined {
    let value: unknown;
    if (this.#options.ordered) {
      if (!this.#arrived.has(this.#yielded)) return this.#ending();
      value = this.#arrived.get(this.#yielded);
      this.#arrived.delete(this.#yielded);
    } else {
      if (this.#completedHead === this.#completed.length) return this.#ending();
      value = this.#completed[this.#completedHead++];
      if (this.#completedHead === this.#completed.length) {
        this.#completed = [];
        this.#completedHead = 0;
      }
    }
    this.#yielded++;
    // The dispatcher was held back by the bound: wake it once a quarter of the bound is free (not per result).
    if (this.#starved && this.#room() >= this.#options.maxPending / 4) {
      this.#starved = false;
      this.#run?.pump();
    }
    return Promise.resolve({ done: false, value: value as T });
  }

  #ending(): Promise<IteratorResult<T>> | undefined {
    if (!this.#ended) return undefined;
    this.#closed = true;
    const error = this.#endError;
    this.#reset();
    return error ? Promise.reject(error) : Promise.resolve({ done: true, value: undefined });
  }

  #result(index: number, value: unknown): void {
    if (this.#options.ordered) this.#arrived.set(index, value);
    else this.#completed.push(value);
    this.#wake();
  }

  #end(error: Error | undefined): void {
    if (this.#closed) return;
    this.#ended = true;
    this.#endError = error;
    if (error) this.#closeInput();
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined; // before #step: an ending resets, and must not settle this waiter as done
    const step = this.#step();
    if (!step) {
      this.#waiter = waiter;
      return;
    }
    step.then(
      (result) => waiter.resolve(result),
      (error: unknown) => waiter.reject(error),
    );
  }

  #reset(): void {
    this.#held.clear();
    this.#arrived.clear();
    this.#ahead.length = 0;
    this.#completed = [];
    this.#completedHead = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ done: true, value: undefined });
  }

  /** Items the bound still lets in. */
  #room(): number {
    return this.#options.maxPending - (this.#taken - this.#yielded) - this.#ahead.length;
  }

  #source(): MapSource {
    const exhausted = () => this.#inputDone && this.#ahead.length === 0 && this.#inputError === undefined;
    // The input's length is unknown: batch as if the bound's worth were waiting.
    const available = () => (this.#inputDone ? this.#ahead.length : this.#options.maxPending);
    return {
      take: (count) => this.#take(count),
      item: (index) => this.#held.get(index),
      release: (index) => this.#held.delete(index),
      get exhausted() {
        return exhausted();
      },
      get available() {
        return available();
      },
    };
  }

  #take(count: number): number {
    let taken = 0;
    while (taken < count && this.#ahead.length > 0) {
      this.#held.set(this.#taken++, this.#ahead.shift());
      taken++;
    }
    const room = this.#room();
    if (count - taken > room) this.#starved = true;
    const want = Math.min(count - taken, room);
    if (want <= 0 || this.#inputDone || this.#closed) return taken;
    if (this.#async) {
      if (!this.#fetching) void this.#fetch(want);
      return taken;
    }
    const input = this.#input as Iterator<unknown>;
    for (let i = 0; i < want; i++) {
      let step: Step;
      try {
        step = input.next();
      } catch (error) {
        this.#inputFailed(error);
        break;
      }
      if (step.done) {
        this.#inputDone = true;
        break;
      }
      this.#held.set(this.#taken++, step.value);
      taken++;
    }
    return taken;
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
