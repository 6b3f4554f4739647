/**
 * The worker's side of calls it makes itself (protocol 1.2+): it offers its functions to the
 * master, sends Requests, matches Replies, keeps the list of workers the master sends
 * (Peers), and holds the outcomes of its Futures for other processes that fetch them.
 *
 * One per process, on globalThis under a registered symbol, so the runtime's copy of
 * @cm/core (which feeds it frames) and the copy user code imports (peer-api.ts) share it.
 * Nothing here runs for a worker that makes no calls, except keeping the list of workers,
 * which the master sends only once this worker has a function to run.
 *
 * With `topology: 'all_to_all'` (direct-peers.ts) a call to another worker goes on a direct
 * connection to it when there is one; its Reply comes back there and lands here the same way.
 * @module
 */
import { RemoteError, UsageError, WorkerLostError, type SerializedError, type WorkerLossInfo } from '../errors.js';
import type { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import { type PeersMessage, type ReplyFailure, type RequestKind, decodePeerMessage, decodeReply, encodeCancel, encodePeerMessage, encodeRequest, messageId } from '../protocol/messages.js';
import { PEER_CALLS_MIN_MINOR } from '../protocol/version.js';
import type { FunctionDefinition } from '../protocol/messages.js';
import type { DirectPeers } from './direct-peers.js';
import type { DirectLink, LinkOwner, OutgoingRequest } from './direct-link.js';
import { MASTER_ID } from './identity.js';
import { definitionOf } from './shippable.js';

const CLIENT = Symbol.for('@cm/core.peerClient');
const MAX_REQUEST_ID = 0xffff_ffff;

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** The direct connection carrying it; undefined when it went through the master. */
  link: DirectLink | undefined;
}

/** A function as this worker ships it: its id in this worker's Offers, and its definition. */
interface Shipped {
  readonly id: number;
  readonly definition: FunctionDefinition;
}

/** A request sent: its id (to cancel it) and its outcome. */
export interface SentRequest {
  id: number;
  promise: Promise<unknown>;
}

export class PeerClient implements LinkOwner {
  #conn: FramedConnection | undefined;
  /** Direct connections to other workers (`topology: 'all_to_all'`), once the master asked for them. */
  #direct: DirectPeers | undefined;
  #minor = 0;
  #nextId = 1;
  readonly #pending = new Map<number, PendingRequest>();
  /** Offered functions: by the function object (fast path) and by source or module key (one id each). */
  readonly #offeredFunctions = new WeakMap<object, Shipped>();
  readonly #offeredKeys = new Map<string, Shipped>();
  /** Function ids the master has been sent an Offer for. */
  readonly #offeredToMaster = new Set<number>();
  /** The workers, as the master last said (ids in the order it named them). */
  readonly #peers = new Set<number>();
  /** Futures made here, for fetches from other processes: held weakly, so a Future nobody keeps is freed. */
  readonly #futures = new Map<number, WeakRef<PromiseLike<unknown>>>();
  readonly #collected = new FinalizationRegistry<number>((ref) => this.#futures.delete(ref));
  #nextFutureRef = 1;

  /** The runtime: the session with the master is up. */
  attach(conn: FramedConnection, minor: number): void {
    this.#conn = conn;
    this.#minor = minor;
    conn.onClose(() => this.#masterGone());
  }

  /** The runtime: the master asked for direct connections (`topology: 'all_to_all'`). */
  attachDirect(direct: DirectPeers): void {
    this.#direct = direct;
  }

  /** This worker's direct connections (`topology: 'all_to_all'`), once the master asked for them; for diagnostics and tests. */
  get direct(): DirectPeers | undefined {
    return this.#direct;
  }

  /** The runtime: a Reply or Peers frame arrived. */
  receive(type: number, payload: Buffer): void {
    if (type === FrameType.Peers) return this.#updatePeers(decodePeerMessage<PeersMessage>(payload, 'the list of workers'));
    const id = messageId(payload);
    const pending = this.#pending.get(id);
    if (!pending) return; // a request this worker gave up on
    this.#pending.delete(id);
    try {
      const reply = decodeReply(payload);
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(reviveFailure(reply.failure));
    } catch (error) {
      pending.reject(error);
    }
  }

  /** The current workers, as the master last said. */
  peers(): number[] {
    return [...this.#peers];
  }

  /**
   * Send a Request. Throws (before anything is sent) a UsageError for a function that cannot
   * be shipped, or arguments that cannot be sent.
   */
  request(caller: string, target: number, fn: unknown, kind: RequestKind, args: unknown[]): SentRequest {
    const conn = this.#session(caller);
    const shipped = this.#shippable(fn, caller);
    const id = this.#nextId;
    let payload;
    try {
      payload = encodeRequest({ id, target, fnId: shipped.id, kind, args });
      conn.assertFits(payload, 'the call');
    } catch (error) {
      throw new UsageError(`${caller}: the arguments cannot be sent to ${target === 1 ? 'the master' : `worker ${target}`}: ${(error as Error).message}`, 'args', { cause: error });
    }
    this.#nextId = id === MAX_REQUEST_ID ? 1 : id + 1;
    const link = kind === 'call' && target !== MASTER_ID ? this.#direct?.link(target) : undefined;
    const promise = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject, link }));
    const request: OutgoingRequest = { id, target, fnId: shipped.id, definition: shipped.definition, payload };
    if (!link?.send(request)) this.route(request);
    return { id, promise };
  }

  /** Send `request` through the master (a direct connection, when there was one to try, could not be made). */
  route(request: OutgoingRequest): void {
    const pending = this.#pending.get(request.id);
    const conn = this.#conn;
    if (!pending || !conn || conn.closed) return; // given up on, or the master is gone (which failed it)
    pending.link = undefined;
    if (!this.#offeredToMaster.has(request.fnId)) {
      conn.send(FrameType.Offer, encodePeerMessage({ id: request.fnId, ...request.definition }));
      this.#offeredToMaster.add(request.fnId);
    }
    conn.send(FrameType.Request, request.payload);
  }

  /** A Reply on a direct connection. */
  reply(payload: Buffer): void {
    this.receive(FrameType.Reply, payload);
  }

  /** A direct connection closed with these requests unanswered. */
  lose(ids: readonly number[], error: WorkerLostError): void {
    for (const id of ids) {
      const pending = this.#pending.get(id);
      if (!pending) continue;
      this.#pending.delete(id);
      pending.reject(error);
    }
  }

  /** Give up on request `id`: it rejects with `reason` now, and the master is told (it cancels the call where it runs). */
  cancel(id: number, reason: unknown): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.reject(reason);
    const { name, message } = reason instanceof Error || reason instanceof DOMException ? reason : { name: 'AbortError', message: String(reason) };
    if (pending.link) pending.link.cancel(id, { name, message });
    else if (this.#conn && !this.#conn.closed) this.#conn.send(FrameType.Cancel, encodeCancel({ id, reason: { name, message } }));
  }

  /** A reference number for the next Future made here. */
  nextFutureRef(): number {
    return this.#nextFutureRef++;
  }

  /** Keep Future `ref` made here fetchable from elsewhere for as long as it lives here. */
  keep(ref: number, future: PromiseLike<unknown>): void {
    this.#futures.set(ref, new WeakRef(future));
    this.#collected.register(future, ref);
  }

  /** Another process fetches Future `ref` made here (it runs this through an ordinary call). */
  fetchOwned(ref: number, owner: number): Promise<unknown> {
    const future = this.#futures.get(ref)?.deref();
    if (!future) {
      return Promise.reject(
        new Error(
          `future ${ref} made on process ${owner} is no longer held there: the Future was garbage-collected on the process that made it. ` +
            'Keep the Future referenced there (in a variable or a global) until every process that needs it has fetched it',
        ),
      );
    }
    return Promise.resolve(future);
  }

  #session(caller: string): FramedConnection {
    const conn = this.#conn;
    if (!conn || conn.closed) throw new UsageError(`${caller}: this worker is not connected to its master`);
    if (this.#minor < PEER_CALLS_MIN_MINOR) {
      throw new UsageError(
        `${caller}: the master speaks protocol 1.${this.#minor}, which has no calls from workers (1.${PEER_CALLS_MIN_MINOR} and later); install the same version of @cm/core on the master and the workers`,
      );
    }
    return conn;
  }

  /** The worker's id for `fn` and its definition (one id per source or module export). */
  #shippable(fn: unknown, caller: string): Shipped {
    const known = typeof fn === 'function' ? this.#offeredFunctions.get(fn) : undefined;
    if (known !== undefined) return known;
    const { key, definition } = definitionOf(fn, caller);
    let shipped = this.#offeredKeys.get(key);
    if (shipped === undefined) {
      shipped = { id: this.#offeredKeys.size + 1, definition };
      this.#offeredKeys.set(key, shipped);
    }
    if (typeof fn === 'function') this.#offeredFunctions.set(fn, shipped);
    return shipped;
  }

  #updatePeers(message: PeersMessage): void {
    if (message.direct) this.#direct?.learn(message.direct);
    if ('all' in message) {
      this.#peers.clear();
      for (const id of message.all) this.#peers.add(id);
      this.#direct?.retain(message.all);
      return;
    }
    for (const id of message.joined) this.#peers.add(id);
    for (const id of message.left) this.#peers.delete(id);
    if (message.left.length > 0) this.#direct?.forget(message.left);
  }

  #masterGone(): void {
    const error = new WorkerLostError(1, undefined, { reason: 'connection-closed', detail: 'the connection to the master closed while this call was waiting' });
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(error);
  }
}

/** The error a failed Request rejects with, as the master described it. */
function reviveFailure(failure: ReplyFailure): Error {
  switch (failure.kind) {
    case 'remote':
      return new RemoteError(failure.workerId, failure.host, failure.error);
    case 'lost':
      return new WorkerLostError(failure.workerId, failure.host, { reason: failure.reason as WorkerLossInfo['reason'], detail: failure.detail });
    default:
      return reviveMasterError(failure.error);
  }
}

/** A refusal or failure on the master: a UsageError stays one (its message names what to do), anything else keeps its name. */
function reviveMasterError(error: SerializedError): Error {
  if (error.name === 'UsageError') return new UsageError(error.message, typeof error.props?.field === 'string' ? error.props.field : undefined);
  const revived = new Error(error.message);
  revived.name = error.name;
  return revived;
}

/** This process's client (created on first use). */
export function peerClient(): PeerClient {
  const global = globalThis as Record<symbol, PeerClient | undefined>;
  return (global[CLIENT] ??= new PeerClient());
}
