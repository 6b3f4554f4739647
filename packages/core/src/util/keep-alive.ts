/**
 * Holding the process open while the master is in the middle of something the program is
 * waiting for. The master's sockets, workers and timers are unref'd so a finished program
 * exits; but while a lost worker is being explained or the cluster is closing, the program
 * awaits a promise that only those unref'd handles will settle — without a ref'd handle
 * Node would exit silently with status 0 (no rejection, no `finally`).
 * @module
 */

/** Longest delay a Node timer takes; larger values are silently clamped to 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

let holders = 0;
let timer: NodeJS.Timeout | undefined;

/**
 * Keep the event loop alive until the returned function is called (idempotent). Nested
 * holds share one ref'd timer.
 */
export function holdOpen(): () => void {
  holders++;
  // The timer never fires in practice; it exists only to be a ref'd handle.
  timer ??= setInterval(() => {}, MAX_TIMER_MS);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders--;
    if (holders === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** Run `work` with the process held open until it settles. */
export async function whileHeldOpen<T>(work: () => Promise<T>): Promise<T> {
  const release = holdOpen();
  try {
    return await work();
  } finally {
    release();
  }
}
