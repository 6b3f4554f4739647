/**
 * The callee's side of a direct connection (`topology: 'all_to_all'`): another worker, having
 * passed the handshake on this worker's listener, sends Offers, Requests and Cancels; this
 * runs them as it runs the master's calls — the same function table (a function offered by
 * several callers is compiled once), `currentSignal()`, errors described as the master
 * describes them — and answers each with a Reply. The caller gone (its connection closes)
 * cancels what it started.
 * @module
 */
import { hostname } from 'node:os';
import { serializeError } from '../errors.js';
import type { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import {
  type FunctionDefinition,
  type OfferMessage,
  type ReplyFailure,
  ReplyStatus,
  decodeCancel,
  decodePeerMessage,
  decodeRequestArgs,
  decodeRequestHead,
  encodeReply,
  messageId,
} from '../protocol/messages.js';
import { debug } from '../util/debug.js';
import { callSlots, cancelCall, endCall } from './call-context.js';
import { type FunctionTable, explainInlineError } from './functions.js';

/**
 * Ids of functions and calls that came directly from workers: above every uint32 the master
 * numbers its own with, so they share the function table and the call slots without colliding.
 */
const FIRST_LOCAL_ID = 2 ** 32 + 1;

export class DirectCallee {
  readonly #functions: FunctionTable;
  readonly #self: number;
  /** Definitions seen from any caller, by source or module key: each compiled (or imported) once. */
  readonly #localIds = new Map<string, number>();
  #nextFunction = FIRST_LOCAL_ID;
  #nextCall = FIRST_LOCAL_ID;

  constructor(functions: FunctionTable, self: number) {
    this.#functions = functions;
    this.#self = self;
  }

  /** Serve worker `caller` on `conn` (authenticated) until it closes. */
  serve(conn: FramedConnection, caller: number): void {
    /** The caller's function ids, mapped to this worker's. */
    const offers = new Map<number, number>();
    /** The caller's request ids running here, with the call slot each runs in. */
    const running = new Map<number, number>();
    conn.onFrame(({ type, payload }) => {
      switch (type) {
        case FrameType.Offer: {
          const { id, ...definition } = decodePeerMessage<OfferMessage>(payload, `a function offered by worker ${caller}`);
          offers.set(id, this.#define(definition));
          return;
        }
        case FrameType.Request:
          this.#run(conn, caller, offers, running, payload);
          return;
        case FrameType.Cancel: {
          const { id, reason } = decodeCancel(payload);
          const callId = running.get(id);
          if (callId === undefined) return;
          debug(() => `direct call ${id} from worker ${caller} cancelled: ${reason.name}: ${reason.message}`);
          running.delete(id);
          cancelCall(callId, new DOMException(reason.message, reason.name));
          return;
        }
        case FrameType.Heartbeat:
          return;
        default:
          conn.destroy(new Error(`worker ${caller} sent an unexpected frame type 0x${type.toString(16)} on a direct connection`));
      }
    });
    conn.onClose(() => {
      const reason = new DOMException(`the caller, worker ${caller}, is gone (its direct connection closed)`, 'AbortError');
      for (const callId of running.values()) cancelCall(callId, reason);
      running.clear();
    });
  }

  #define(definition: FunctionDefinition): number {
    const key = 'module' in definition ? `module:${definition.module}#${definition.name}` : `inline:${definition.source}`;
    let id = this.#localIds.get(key);
    if (id === undefined) {
      id = this.#nextFunction++;
      this.#localIds.set(key, id);
      this.#functions.define({ id, ...definition });
    }
    return id;
  }

  #run(conn: FramedConnection, caller: number, offers: Map<number, number>, running: Map<number, number>, payload: Buffer): void {
    const requestId = messageId(payload);
    const reply = (status: (typeof ReplyStatus)[keyof typeof ReplyStatus], value: unknown) => {
      if (conn.closed) return;
      try {
        conn.send(FrameType.Reply, encodeReply(requestId, status, value));
      } catch (error) {
        // A value that cannot be cloned or is too large for a frame: the caller hears why.
        const unsendable = new TypeError(`the function's result cannot be sent to worker ${caller}: ${(error as Error).message}`);
        conn.send(FrameType.Reply, encodeReply(requestId, ReplyStatus.Failure, this.#thrown(unsendable)));
      }
    };
    const fail = (error: unknown) => reply(ReplyStatus.Failure, this.#thrown(explainInlineError(error)));
    let fn;
    let args: unknown[];
    try {
      const head = decodeRequestHead(payload);
      const local = offers.get(head.fnId);
      if (head.kind !== 'call' || head.target !== this.#self || local === undefined) {
        const wrong = head.kind !== 'call' ? 'a pmap (which the master runs)' : head.target !== this.#self ? `a call for worker ${head.target}` : `function ${head.fnId}, never offered`;
        reply(ReplyStatus.Failure, { kind: 'master', error: serializeError(new Error(`worker ${this.#self} was sent ${wrong} on a direct connection (protocol error)`)) } satisfies ReplyFailure);
        return;
      }
      args = decodeRequestArgs(payload);
      fn = this.#functions.resolve(local);
    } catch (error) {
      fail(error);
      return;
    }
    const callId = this.#nextCall++;
    const start = (resolved: (...args: unknown[]) => unknown): unknown => {
      callSlots.current = callId;
      try {
        return resolved(...args);
      } finally {
        callSlots.current = undefined;
      }
    };
    let outcome: Promise<unknown>;
    if (fn instanceof Promise) {
      outcome = fn.then(start); // a module's first use: imported, then run
    } else {
      // The common case — a ready, synchronous function — answers at once.
      let value;
      try {
        value = start(fn);
      } catch (error) {
        endCall(callId);
        fail(error);
        return;
      }
      if (!(value instanceof Promise)) {
        endCall(callId);
        reply(ReplyStatus.Value, value);
        return;
      }
      outcome = value;
    }
    running.set(requestId, callId);
    // A cancelled call is no longer in `running`: its caller has given up, so nothing is sent.
    const live = () => running.get(requestId) === callId;
    outcome
      .then(
        (value) => live() && reply(ReplyStatus.Value, value),
        (error: unknown) => live() && fail(error),
      )
      .finally(() => {
        if (live()) running.delete(requestId);
        endCall(callId);
      });
  }

  /** An exception on this worker, as the master would describe it to the caller. */
  #thrown(error: unknown): ReplyFailure {
    return { kind: 'remote', workerId: this.#self, host: hostname(), error: serializeError(error) };
  }
}
