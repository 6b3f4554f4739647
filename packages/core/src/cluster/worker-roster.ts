/**
 * The master's table of workers: who is current (in the order they joined) and why the
 * ones that left are gone, so a call naming a departed worker is refused with the reason.
 * @module
 */
import { UsageError } from '../errors.js';
import type { WorkerHandle } from './worker-handle.js';

export class WorkerRoster {
  readonly #current = new Map<number, WorkerHandle>();
  /** Why each departed worker left, for the error a later call on it gets. */
  readonly #gone = new Map<number, string>();

  get size(): number {
    return this.#current.size;
  }

  ids(): number[] {
    return [...this.#current.keys()];
  }

  handles(): IterableIterator<WorkerHandle> {
    return this.#current.values();
  }

  find(id: number): WorkerHandle | undefined {
    return this.#current.get(id);
  }

  enrol(handle: WorkerHandle): void {
    this.#current.set(handle.id, handle);
  }

  /** Take a worker off the table; false when it had already left (removal and loss race). */
  strike(id: number): boolean {
    return this.#current.delete(id);
  }

  recordGone(id: number, why: string): void {
    this.#gone.set(id, why);
  }

  /** The current worker `id`, or a UsageError saying whether it never existed or why it left. */
  expect(id: number, caller: string): WorkerHandle {
    const handle = this.#current.get(id);
    if (handle) return handle;
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new UsageError(`${caller}: worker id must be an integer, got ${String(id)}`, 'id');
    const removed = this.#gone.get(id);
    const known = this.ids().join(', ') || 'none';
    throw new UsageError(removed ? `${caller}: worker ${id} is gone (${removed}); current workers: ${known}` : `${caller}: there is no worker ${id}; current workers: ${known}`, 'id');
  }
}
