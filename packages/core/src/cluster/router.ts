/**
 * The master's side of calls made by workers (protocol 1.2+, docs/protocol.md section 5.1):
 * it forwards a worker's Request to the target worker and its Result back as a Reply (the
 * argument and result bytes are passed on, not decoded), runs calls aimed at the master
 * itself, runs pmaps asked for by workers, tells workers who the workers are (Peers), and
 * cleans up after losses: a target lost fails the caller's request with WorkerLostError, a
 * caller lost cancels everything it started.
 *
 * Only admitted workers reach this (frames from a connection that passed the handshake);
 * a target must be the master or a current worker.
 *
 * With `topology: 'all_to_all'` it also asks each worker (1.3+) to listen for direct calls
 * (a Direct frame) and passes the addresses they announce on to the others in Peers frames;
 * calls sent directly never reach it.
 * @module
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { RemoteError, UsageError, WorkerLostError, serializeError, type SerializedError, type WorkerLossInfo } from '../errors.js';
import { FrameType } from '../protocol/frame.js';
import {
  type DirectAddress,
  type DirectMessage,
  type EncodedPayload,
  type OfferMessage,
  type ReplyFailure,
  REQUEST_HEAD_BYTES,
  ReplyStatus,
  decodeCancel,
  decodePeerMessage,
  decodeRequestArgs,
  decodeRequestHead,
  decodeResult,
  encodePeerMessage,
  encodeReply,
  replyFromResult,
} from '../protocol/messages.js';
import { DIRECT_PEERS_MIN_MINOR, PEER_CALLS_MIN_MINOR } from '../protocol/version.js';
import { parseOptions } from '../util/validate.js';
import { cancelCall, callSlots, currentSignal, endCall } from '../worker/call-context.js';
import { everywhere, fetchFuture, nworkers, pmap, remotecall, remotecallFetch, remotecallWait, spawnAt, workers } from '../worker/peer-api.js';
import { FunctionTable, explainInlineError } from '../worker/functions.js';
import { MASTER_ID, myid } from '../worker/identity.js';
import { type ResolvedPmapOptions, pmapOptionsSchema } from './options.js';
import type { FunctionRegistry, PreparedFunction } from './remote-function.js';
import type { WorkerHandle } from './worker-handle.js';

/** What the router needs from the Cluster. */
export interface RouterHost {
  /** The current worker `id`, or a UsageError naming the current workers. */
  handle(id: number, caller: string): WorkerHandle;
  /** The current workers. */
  workers(): Iterable<WorkerHandle>;
  readonly functions: FunctionRegistry;
  /** Run a pmap a worker asked for, as the master runs its own (demand for pools, progress, snapshot). */
  map(fn: PreparedFunction, items: readonly unknown[], options: ResolvedPmapOptions, startedBy: number): Promise<unknown[]>;
  /** The Cluster option `topology`: `'all_to_all'` has workers listen for direct calls. */
  readonly topology: 'master' | 'all_to_all';
}

/** The address a worker announces (Direct frame): where it listens for direct calls. */
const announcedAddressSchema = z.object({ host: z.string().min(1).max(255), port: z.number().int().min(1).max(65535) }).strict();

/** A worker that makes calls: the functions it offered, and its requests not yet answered (each with how to cancel it). */
interface Caller {
  readonly offers: Map<number, PreparedFunction>;
  readonly open: Map<number, (reason: unknown) => void>;
}

/** Up to this many workers told of membership changes, they are told at the end of the event loop's turn. */
const PROMPT_PEERS_LISTENERS = 100;
/** The longest membership changes are gathered before going out (big clusters). */
const MAX_PEERS_GATHER_MS = 1_000;

/** Master-side ids of calls the master runs itself; kept apart from anything a worker numbers. */
let nextMasterCall = 0x8000_0000;

export class CallRouter {
  readonly #host: RouterHost;
  readonly #callers = new Map<WorkerHandle, Caller>();
  /** Workers that have been told who the workers are, and are told every change. */
  readonly #listeners = new Set<WorkerHandle>();
  #joined: number[] = [];
  #left: number[] = [];
  /** Listening addresses workers announced (`topology: 'all_to_all'`), and those not yet passed on. */
  readonly #addresses = new Map<number, DirectAddress>();
  #announced: DirectAddress[] = [];
  #flushQueued = false;
  /** Functions the master runs itself, compiled or imported once. */
  readonly #local = new FunctionTable({ myid, currentSignal, MASTER_ID, workers, nworkers, remotecall, remotecallFetch, remotecallWait, spawnAt, pmap, everywhere, fetchFuture });
  readonly #localDefined = new Set<number>();

  constructor(host: RouterHost) {
    this.#host = host;
  }

  /** A worker joined: route its calls (when it speaks 1.2) and tell the others. */
  joined(handle: WorkerHandle, minor: number): void {
    if (this.#listeners.size > 0) this.#queue(() => this.#joined.push(handle.id));
    if (minor < PEER_CALLS_MIN_MINOR) return;
    handle.onPeerFrame = (type, payload) => this.#receive(handle, type, payload);
    // A worker learns who the workers are before its first function (so `workers()` is right
    // inside it); a worker that is never given a function is never told anything.
    handle.beforeFirstDefine = () => this.#listen(handle);
    if (this.#host.topology === 'all_to_all' && minor >= DIRECT_PEERS_MIN_MINOR) {
      // A worker that listens is told who the others are (and where they listen) from the start.
      handle.conn.send(FrameType.Direct, encodePeerMessage({ listen: true }));
      this.#listen(handle);
    }
  }

  /** A worker left (lost or removed): tell the others, fail nothing here (its handle fails calls to it), and cancel what it started. */
  left(handle: WorkerHandle, loss: WorkerLossInfo): void {
    this.#listeners.delete(handle);
    this.#addresses.delete(handle.id);
    if (this.#listeners.size > 0) this.#queue(() => this.#left.push(handle.id));
    const caller = this.#callers.get(handle);
    if (!caller) return;
    this.#callers.delete(handle);
    const reason = new DOMException(`the caller, worker ${handle.id}, is gone (${loss.detail ?? loss.reason})`, 'AbortError');
    for (const cancel of [...caller.open.values()]) cancel(reason);
    caller.open.clear();
  }

  #listen(handle: WorkerHandle): void {
    if (this.#listeners.has(handle)) return;
    this.#listeners.add(handle);
    const all = [...this.#host.workers()].map((w) => w.id);
    handle.conn.send(FrameType.Peers, encodePeerMessage(this.#addresses.size > 0 ? { all, direct: [...this.#addresses.values()] } : { all }));
  }

  /**
   * Membership changes that happen together (a launch's workers joining) go out as one Peers
   * frame per listener: after this turn of the event loop while few workers listen, and
   * gathered for up to one ms per listener (at most {@link MAX_PEERS_GATHER_MS}) past
   * {@link PROMPT_PEERS_LISTENERS}, so a join wave into a big cluster costs about a thousand
   * frames a second instead of listeners × loop turns. Routing does not wait for it (the
   * master knows every worker); a worker's `workers()` may lag by that long.
   */
  #queue(record: () => void): void {
    record();
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    const listeners = this.#listeners.size;
    if (listeners <= PROMPT_PEERS_LISTENERS) setImmediate(() => this.#flush());
    else setTimeout(() => this.#flush(), Math.min(MAX_PEERS_GATHER_MS, listeners)).unref();
  }

  #flush(): void {
    this.#flushQueued = false;
    const message = encodePeerMessage(this.#announced.length > 0 ? { joined: this.#joined, left: this.#left, direct: this.#announced } : { joined: this.#joined, left: this.#left });
    this.#joined = [];
    this.#left = [];
    this.#announced = [];
    for (const listener of this.#listeners) if (!listener.conn.closed) listener.conn.send(FrameType.Peers, message);
  }

  #receive(handle: WorkerHandle, type: number, payload: Buffer): void {
    const caller = this.#caller(handle);
    switch (type) {
      case FrameType.Offer: {
        const { id, ...definition } = decodePeerMessage<OfferMessage>(payload, 'a function offered by a worker');
        caller.offers.set(id, this.#host.functions.adopt(definition));
        return;
      }
      case FrameType.Request:
        this.#request(handle, caller, payload);
        return;
      case FrameType.Cancel: {
        const { id, reason } = decodeCancel(payload);
        caller.open.get(id)?.(new DOMException(reason.message, reason.name));
        return;
      }
      case FrameType.Direct:
        this.#announce(handle, decodePeerMessage<DirectMessage>(payload, 'a listening address'));
        return;
      default:
        handle.conn.destroy(new Error(`worker ${handle.id} sent an unexpected frame type 0x${type.toString(16)}`));
    }
  }

  /** A worker listens for direct calls: pass its address on to the workers (a worker that was not asked to listen is ignored). */
  #announce(handle: WorkerHandle, message: DirectMessage): void {
    const parsed = announcedAddressSchema.safeParse(message);
    if (this.#host.topology !== 'all_to_all' || !parsed.success) return;
    const address: DirectAddress = [handle.id, parsed.data.host, parsed.data.port];
    this.#addresses.set(handle.id, address);
    if (this.#listeners.size > 0) this.#queue(() => this.#announced.push(address));
  }

  #caller(handle: WorkerHandle): Caller {
    let caller = this.#callers.get(handle);
    if (!caller) {
      caller = { offers: new Map(), open: new Map() };
      this.#callers.set(handle, caller);
    }
    return caller;
  }

  #request(handle: WorkerHandle, caller: Caller, payload: Buffer): void {
    const { id, target, fnId, kind } = decodeRequestHead(payload);
    const what = kind === 'map' ? 'pmap' : 'remotecall';
    let settled = false;
    /** Called once: the request is answered (or given up on); `reply` is undefined when nobody waits for an answer. */
    const finish = (reply?: EncodedPayload | Buffer) => {
      if (settled) return;
      settled = true;
      caller.open.delete(id);
      handle.waiting--;
      if (!reply || handle.conn.closed) return;
      try {
        handle.conn.send(FrameType.Reply, reply);
      } catch (error) {
        // Too large for a frame: the caller hears why instead of waiting forever.
        handle.conn.send(FrameType.Reply, encodeReply(id, ReplyStatus.Failure, failureOf(error)));
      }
    };
    const fail = (failure: ReplyFailure) => finish(encodeReply(id, ReplyStatus.Failure, failure));
    handle.waiting++;
    try {
      const fn = caller.offers.get(fnId);
      if (!fn) throw new UsageError(`${what}: function ${fnId} was never offered by worker ${handle.id} (protocol error)`);
      if (kind === 'map') return this.#map(handle.config.id, caller, id, fn, decodeRequestArgs(payload), finish, fail);
      if (target === MASTER_ID) return this.#runHere(caller, id, fn, decodeRequestArgs(payload), finish, fail);
      const to = this.#host.handle(target, what);
      const callId = to.forward(
        fn,
        payload.subarray(REQUEST_HEAD_BYTES),
        (result) => {
          if (result[4] === ReplyStatus.Value) return finish(replyFromResult(id, result));
          const error = resultError(result);
          fail({ kind: 'remote', workerId: to.id, host: to.config.host, error });
        },
        (error) => {
          // A cancel (the caller gave up, or is gone) rejects with its reason: nobody waits for a reply.
          if (error instanceof WorkerLostError) fail({ kind: 'lost', workerId: error.workerId, host: error.host, reason: error.reason, detail: error.detail });
          else finish();
        },
      );
      caller.open.set(id, (reason) => {
        to.cancel(callId, reason);
        finish();
      });
    } catch (error) {
      fail(failureOf(error));
    }
  }

  /** A call aimed at the master: run it here, with a signal its caller can abort (`currentSignal()`). */
  #runHere(caller: Caller, id: number, fn: PreparedFunction, args: unknown[], finish: (reply?: EncodedPayload) => void, fail: (failure: ReplyFailure) => void): void {
    if (!this.#localDefined.has(fn.id)) {
      this.#local.define({ id: fn.id, ...fn.definition });
      this.#localDefined.add(fn.id);
    }
    const callId = nextMasterCall++;
    caller.open.set(id, (reason) => {
      cancelCall(callId, reason);
      finish();
    });
    const run = async () => {
      let resolved = this.#local.resolve(fn.id);
      if (resolved instanceof Promise) resolved = await resolved;
      callSlots.current = callId;
      let value: unknown;
      try {
        value = resolved(...args);
      } finally {
        callSlots.current = undefined;
      }
      return value;
    };
    run().then(
      (value) => {
        endCall(callId);
        try {
          finish(encodeReply(id, ReplyStatus.Value, value));
        } catch (error) {
          fail({ kind: 'master', error: serializeError(new TypeError(`the function's result cannot be sent to worker: ${(error as Error).message}`)) });
        }
      },
      (error: unknown) => {
        endCall(callId);
        fail({ kind: 'remote', workerId: MASTER_ID, host: hostname(), error: serializeError(explainInlineError(error)) });
      },
    );
  }

  /** A pmap asked for by a worker: run on the cluster's workers (the caller included) like the master's own. */
  #map(callerId: number, caller: Caller, id: number, fn: PreparedFunction, args: unknown[], finish: (reply?: EncodedPayload) => void, fail: (failure: ReplyFailure) => void): void {
    const [items, options] = args;
    if (!Array.isArray(items)) throw new UsageError('pmap: items must be an array or iterable', 'items');
    const controller = new AbortController();
    const opts = parseOptions(pmapOptionsSchema, { ...(options as object), signal: controller.signal }, 'pmap options');
    caller.open.set(id, (reason) => {
      controller.abort(reason);
      finish();
    });
    this.#host.map(fn, items, opts, callerId).then(
      (values) => {
        try {
          finish(encodeReply(id, ReplyStatus.Value, values));
        } catch (error) {
          fail(failureOf(error));
        }
      },
      (error: unknown) => fail(failureOf(error)),
    );
  }
}

/** The error of a failed Result (decoded only when a call failed, to name its host); an undecodable one is described. */
function resultError(result: Buffer): SerializedError {
  try {
    const decoded = decodeResult(result, 'the error of a forwarded call');
    return decoded.ok ? serializeError(new Error('a failed call carried no error')) : decoded.error;
  } catch (error) {
    return serializeError(error);
  }
}

/** What a failure on the master looks like to the worker that asked. */
function failureOf(error: unknown): ReplyFailure {
  if (error instanceof WorkerLostError) return { kind: 'lost', workerId: error.workerId, host: error.host, reason: error.reason, detail: error.detail };
  if (error instanceof RemoteError) {
    return {
      kind: 'remote',
      workerId: error.workerId,
      host: error.host,
      error: { name: error.remoteName, message: error.remoteMessage, stack: error.remoteStack, code: error.remoteCode, props: { ...error.properties } },
    };
  }
  return { kind: 'master', error: serializeError(error) };
}
