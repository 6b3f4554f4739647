/**
 * `myid()`: which process am I. Kept on globalThis under a registered symbol so every copy
 * of @cm/core loaded in one process (the worker's own and the one user code imports) agrees.
 * @module
 */
const WORKER_ID = Symbol.for('@cm/core.workerId');

/** Id of the master process, as in Julia's Distributed. */
export const MASTER_ID = 1;

/** This process's id: 1 on the master, the worker's id (2, 3, …) inside a worker. */
export function myid(): number {
  return ((globalThis as Record<symbol, unknown>)[WORKER_ID] as number | undefined) ?? MASTER_ID;
}

/** Set by the worker runtime once the master has admitted it. */
export function setMyid(id: number): void {
  (globalThis as Record<symbol, unknown>)[WORKER_ID] = id;
}
