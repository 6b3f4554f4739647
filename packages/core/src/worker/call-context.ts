/**
 * `currentSignal()`: the AbortSignal of the remote call that is running, so a function can
 * stop work its caller gave up on (`remotecall(…, { signal })`, a timeout, a pmap abort).
 *
 * The call being started is one number in a slot on globalThis (under a registered symbol,
 * so the runtime's copy of @cm/core and the one user code imports agree). Nothing is
 * allocated unless a function asks for its signal, which keeps the call path as cheap as it
 * was. The slot is set only while the function's synchronous start runs: call
 * `currentSignal()` before the first `await` and keep the signal.
 * @module
 */
import { myid, MASTER_ID } from './identity.js';

const CALLS = Symbol.for('@cm/core.calls');

/** What the worker runtime keeps about running calls; shared across copies of @cm/core. */
export interface CallSlots {
  /** The call whose function is starting now (its synchronous part), else undefined. */
  current: number | undefined;
  /** Signals handed out, by call id, until the call settles. */
  readonly controllers: Map<number, AbortController>;
  /** Calls cancelled while running, whose reason a signal asked for later should carry. */
  readonly cancelled: Map<number, unknown>;
}

function slots(): CallSlots {
  const global = globalThis as Record<symbol, CallSlots | undefined>;
  return (global[CALLS] ??= { current: undefined, controllers: new Map(), cancelled: new Map() });
}

/** The runtime's handle on the slots (one object for the process's lifetime). */
export const callSlots: CallSlots = slots();

const NEVER_ABORTED = new AbortController().signal;

/**
 * The AbortSignal of the remote call running now. It aborts when the caller's `signal`
 * aborts or its `timeoutMs` passes (the master then sends a Cancel; its reason is the
 * caller's, e.g. a `TimeoutError` DOMException), so long work can stop early:
 *
 * ```ts
 * import { currentSignal } from '@cm/core';
 * await cluster.remotecallFetch({ worker: 2, timeoutMs: 5_000 }, async (url: string) => {
 *   const signal = currentSignal(); // first, before any await
 *   return (await fetch(url, { signal })).text();
 * }, url);
 * ```
 *
 * Call it during the function's synchronous start (before its first `await`) and keep the
 * signal. On workers `currentSignal` and `myid` are also globals, so an inline function (which
 * cannot capture imports) that calls them by these names works as if it had imported them. On the master (`myid() === 1`, e.g. when testing the function directly) it returns
 * a signal that never aborts. A call the worker cannot interrupt (a synchronous loop that
 * never checks the signal) runs to its end; its result is then discarded.
 * @throws Error on a worker, outside the synchronous start of a remote call
 */
export function currentSignal(): AbortSignal {
  const state = slots();
  const id = state.current;
  if (id === undefined) {
    if (myid() === MASTER_ID) return NEVER_ABORTED;
    throw new Error(
      'currentSignal() was called outside the synchronous start of a remote call (after an `await`, or from a timer); ' +
        'call it at the top of the function, before any await, and keep the signal in a variable',
    );
  }
  let controller = state.controllers.get(id);
  if (!controller) {
    controller = new AbortController();
    state.controllers.set(id, controller);
    if (state.cancelled.has(id)) controller.abort(state.cancelled.get(id));
  }
  return controller.signal;
}

/** The runtime: the master cancelled call `id`, which is still running. */
export function cancelCall(id: number, reason: unknown): void {
  callSlots.cancelled.set(id, reason);
  callSlots.controllers.get(id)?.abort(reason);
}

/** Whether running call `id` was cancelled (a pmap batch stops between items). */
export function isCancelled(id: number): boolean {
  return callSlots.cancelled.size > 0 && callSlots.cancelled.has(id);
}

/** The runtime: make `currentSignal` and `myid` callable from inline functions, which see only globals. */
export function installWorkerGlobals(): void {
  for (const [name, value] of Object.entries({ currentSignal, myid })) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
}

/** The runtime: call `id` has settled; forget its signal. */
export function endCall(id: number): void {
  if (callSlots.controllers.size > 0) callSlots.controllers.delete(id);
  if (callSlots.cancelled.size > 0) callSlots.cancelled.delete(id);
}
