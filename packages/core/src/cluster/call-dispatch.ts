/**
 * Sending the master's own calls to a worker: the function is prepared (or refused) and the
 * arguments checked before anything goes out, and a call made with `{ signal, timeoutMs }`
 * becomes a Future whose giving up tells the worker to abandon it.
 * @module
 */
import { UsageError } from '../errors.js';
import { debug } from '../util/debug.js';
import { cancelOn } from './calls.js';
import { Future } from './future.js';
import type { CallOptions } from './options.js';
import type { FunctionRegistry } from './remote-function.js';
import type { WorkerHandle } from './worker-handle.js';
import type { WorkerRoster } from './worker-roster.js';

export class CallDispatch {
  readonly #roster: WorkerRoster;
  readonly #functions: FunctionRegistry;

  constructor(roster: WorkerRoster, functions: FunctionRegistry) {
    this.#roster = roster;
    this.#functions = functions;
  }

  /** Send one call; throws (before sending anything) for an unknown worker, an unshippable function or uncloneable arguments. */
  call(id: number, fn: unknown, args: unknown[], caller: string): Promise<unknown> {
    return this.#send(this.#roster.expect(id, caller), fn, args, caller);
  }

  /** A call as a Future that can be given up on; with options, their signal and timeout are wired to it. */
  future(id: number, options: CallOptions | undefined, fn: unknown, args: unknown[], caller: string): Future<unknown> {
    const handle = this.#roster.expect(id, caller);
    if (options?.signal?.aborted) {
      this.#functions.prepare(fn, caller); // still refuse what could never be sent
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's reason, whatever it is, as fetch() does
      return new Future(id, Promise.reject(options.signal.reason));
    }
    const promise = this.#send(handle, fn, args, caller);
    const callId = handle.lastCallId;
    const cancel = (reason: unknown) => {
      if (handle.cancel(callId, reason)) debug(() => `call ${callId} on worker ${id} given up: ${reason instanceof Error ? reason.message : String(reason)}`);
    };
    if (options) cancelOn(options, promise, cancel, `${caller} on worker ${id}`);
    return new Future(id, promise, cancel);
  }

  #send(handle: WorkerHandle, fn: unknown, args: unknown[], caller: string): Promise<unknown> {
    const prepared = this.#functions.prepare(fn, caller);
    try {
      return handle.call(prepared, 'call', args);
    } catch (error) {
      throw new UsageError(`${caller}: the arguments cannot be sent to worker ${handle.id}: ${(error as Error).message}`, 'args', { cause: error });
    }
  }
}
