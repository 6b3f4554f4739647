/**
 * The work a cluster holds, as one figure an adaptive pool can follow: items of running maps
 * (`pmap`, `imap`) not yet done, plus the plain calls in flight. Maps register how much they
 * still hold; an adaptive pool says while workers are on their way, so a map started with no
 * workers waits for them instead of failing.
 * @module
 */

/** What one running map still holds: items waiting to be sent plus items sent and not done. */
export type WaitingItems = () => number;

export class DemandBoard {
  readonly #maps = new Set<WaitingItems>();
  readonly #growers = new Set<() => boolean>();
  readonly #wakers = new Set<() => void>();
  readonly #watchers = new Set<() => void>();

  /** A map started: count what it holds until the returned function is called. */
  register(waiting: WaitingItems): () => void {
    this.#maps.add(waiting);
    for (const watcher of [...this.#watchers]) watcher();
    return () => this.#maps.delete(waiting);
  }

  /** Be told when a map starts (a pool looks at once instead of at its next tick). */
  onMapStarted(listener: () => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** Items held by running maps. */
  mapItems(): number {
    let items = 0;
    for (const waiting of this.#maps) items += waiting();
    return items;
  }

  /** Maps running now. */
  get maps(): number {
    return this.#maps.size;
  }

  /** An adaptive pool: `growing()` says whether it may still bring workers. Returns an unsubscribe function. */
  addGrower(growing: () => boolean): () => void {
    this.#growers.add(growing);
    return () => {
      this.#growers.delete(growing);
      this.wake();
    };
  }

  /** Some pool may still bring workers: a map with none should wait rather than fail. */
  workersComing(): boolean {
    for (const growing of this.#growers) if (growing()) return true;
    return false;
  }

  /** Be told when whether workers are coming may have changed. */
  onWake(listener: () => void): () => void {
    this.#wakers.add(listener);
    return () => this.#wakers.delete(listener);
  }

  /** A pool stopped or paused: maps waiting for workers look again (and fail if none will come). */
  wake(): void {
    for (const listener of [...this.#wakers]) listener();
  }
}
