/**
 * The caller's side of one direct connection to another worker (`topology: 'all_to_all'`):
 * made on the first call to that worker, authenticated like a connection to the master
 * (protocol/handshake.ts `joinPeer`, TLS when the cluster encrypts), then carrying that
 * worker's Requests, Offers and Cancels out and its Replies back.
 *
 * Calls made while the connection is being made wait for it; if it cannot be made they go
 * through the master instead (with a debug line), so no call depends on it. A connection
 * that closes fails the calls it carried with WorkerLostError: the callee is gone (or
 * unreachable), and whatever it ran is cancelled there when it notices.
 * @module
 */
import { WorkerLostError } from '../errors.js';
import { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import { HANDSHAKE_MAX_FRAME_BYTES, HANDSHAKE_TIMEOUT_MS, joinPeer } from '../protocol/handshake.js';
import { type EncodedPayload, encodeCancel, encodePeerMessage, messageId } from '../protocol/messages.js';
import { type TransportSecurity, connect } from '../protocol/transport.js';
import { debug, formatMs } from '../util/debug.js';
import type { FunctionDefinition } from '../protocol/messages.js';

/** A Request ready to go: encoded once, sent on whichever path takes it. */
export interface OutgoingRequest {
  readonly id: number;
  readonly target: number;
  /** The function, by the caller's id for it (the callee learns it from an Offer the first time). */
  readonly fnId: number;
  readonly definition: FunctionDefinition;
  readonly payload: EncodedPayload;
}

/** What a link needs from the process's peer client. */
export interface LinkOwner {
  /** A Reply arrived on the link. */
  reply(payload: Buffer): void;
  /** The link cannot carry this request (no connection could be made): send it through the master. */
  route(request: OutgoingRequest): void;
  /** The link closed with these requests unanswered. */
  lose(ids: readonly number[], error: WorkerLostError): void;
}

/** Who this worker is on a direct connection, and how to make one. */
export interface LinkSettings {
  readonly self: number;
  readonly secret: Buffer;
  readonly security: TransportSecurity;
}

type LinkState = { kind: 'connecting'; queue: OutgoingRequest[] } | { kind: 'open'; conn: FramedConnection } | { kind: 'failed' } | { kind: 'closed' };

export class DirectLink {
  #state: LinkState = { kind: 'connecting', queue: [] };
  /** Function ids the callee has been sent an Offer for on this connection. */
  readonly #offered = new Set<number>();
  /** Requests sent on this connection and not answered. */
  readonly #open = new Set<number>();
  readonly #settings: LinkSettings;
  readonly #owner: LinkOwner;

  constructor(
    readonly target: number,
    readonly host: string,
    readonly port: number,
    settings: LinkSettings,
    owner: LinkOwner,
  ) {
    this.#settings = settings;
    this.#owner = owner;
    void this.#connect();
  }

  /** No connection could be made: calls to the target go through the master. */
  get failed(): boolean {
    return this.#state.kind === 'failed';
  }

  /** Send `request` on this link (or queue it while connecting). False when the link cannot take it: route it instead. */
  send(request: OutgoingRequest): boolean {
    const state = this.#state;
    if (state.kind === 'connecting') {
      state.queue.push(request);
      return true;
    }
    if (state.kind !== 'open' || state.conn.closed) return false;
    this.#sendOn(state.conn, request);
    return true;
  }

  /** The caller gave up on request `id` (already rejected there): drop it if still queued, else tell the callee. */
  cancel(id: number, reason: { name: string; message: string }): void {
    const state = this.#state;
    if (state.kind === 'connecting') {
      const index = state.queue.findIndex((request) => request.id === id);
      if (index >= 0) state.queue.splice(index, 1);
      return;
    }
    if (!this.#open.delete(id) || state.kind !== 'open' || state.conn.closed) return;
    state.conn.send(FrameType.Cancel, encodeCancel({ id, reason }));
  }

  /** The master says the target is gone (or its address changed): close, failing what is open. */
  close(detail: string): void {
    const state = this.#state;
    this.#state = { kind: 'closed' };
    if (state.kind === 'connecting') for (const request of state.queue) this.#owner.route(request);
    if (state.kind === 'open') this.#lost(state.conn, detail);
  }

  #sendOn(conn: FramedConnection, request: OutgoingRequest): void {
    if (!this.#offered.has(request.fnId)) {
      conn.send(FrameType.Offer, encodePeerMessage({ id: request.fnId, ...request.definition }));
      this.#offered.add(request.fnId);
    }
    this.#open.add(request.id);
    conn.send(FrameType.Request, request.payload);
  }

  async #connect(): Promise<void> {
    const started = performance.now();
    let conn: FramedConnection | undefined;
    // A host that drops packets would hold the calls for minutes (TCP's own timeout): give up
    // on the same deadline as a handshake, and let the late socket go.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.#fail(`no connection within ${HANDSHAKE_TIMEOUT_MS} ms`);
    }, HANDSHAKE_TIMEOUT_MS);
    try {
      const socket = await connect(this.host, this.port, this.#settings.security);
      conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
      if (timedOut) throw new Error('too late');
      const welcome = await joinPeer(conn, this.#settings.secret, { workerId: this.#settings.self, target: this.target }, { timeoutMs: HANDSHAKE_TIMEOUT_MS });
      if (timedOut) throw new Error('too late');
      conn.maxFrameBytes = welcome.maxFrameBytes;
    } catch (error) {
      clearTimeout(timer);
      conn?.destroy();
      if (!timedOut) this.#fail((error as { reason?: string }).reason ?? (error as Error).message);
      return;
    }
    clearTimeout(timer);
    debug(() => `worker ${this.#settings.self}: direct connection to worker ${this.target} at ${this.host}:${this.port} made in ${formatMs(performance.now() - started)}`);
    const state = this.#state;
    if (state.kind !== 'connecting') {
      conn.destroy(); // closed meanwhile (the target left)
      return;
    }
    this.#state = { kind: 'open', conn };
    // A direct connection does not keep the worker alive; its connection to the master does.
    conn.socket.unref();
    conn.onFrame(({ type, payload }) => {
      if (type === FrameType.Reply) {
        this.#open.delete(messageId(payload));
        this.#owner.reply(payload);
      } else if (type !== FrameType.Heartbeat) {
        conn.destroy(new Error(`worker ${this.target} sent an unexpected frame type 0x${type.toString(16)} on a direct connection`));
      }
    });
    conn.onClose((error) => {
      if (this.#state.kind === 'open') this.#state = { kind: 'closed' };
      this.#lost(conn, `the direct connection to worker ${this.target} closed during the call${error ? ` (${error.message})` : ''}`);
    });
    for (const request of state.queue) this.#sendOn(conn, request);
  }

  /** No connection: what waited goes through the master, and so does everything after. */
  #fail(reason: string): void {
    const state = this.#state;
    if (state.kind !== 'connecting') return;
    this.#state = { kind: 'failed' };
    debug(() => `worker ${this.#settings.self}: no direct connection to worker ${this.target} at ${this.host}:${this.port} (${reason}); its calls go through the master`);
    for (const request of state.queue) this.#owner.route(request);
  }

  #lost(conn: FramedConnection, detail: string): void {
    conn.destroy();
    if (this.#open.size === 0) return;
    const ids = [...this.#open];
    this.#open.clear();
    this.#owner.lose(ids, new WorkerLostError(this.target, undefined, { reason: 'connection-closed', detail }));
  }
}
