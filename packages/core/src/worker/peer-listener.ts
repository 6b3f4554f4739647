/**
 * A worker's listening socket for direct calls from other workers (`topology: 'all_to_all'`).
 * It admits exactly what the master's listener admits — peers that complete the handshake
 * with the cluster secret (protocol/handshake.ts `acceptPeer`; TLS-PSK first when the cluster
 * encrypts) — with the same limits before authentication: frames of at most
 * HANDSHAKE_MAX_FRAME_BYTES, HANDSHAKE_TIMEOUT_MS to finish, and nothing more read from a
 * peer that failed. Bound on the address the worker dialled the master from, on a port the
 * operating system picks.
 * @module
 */
import type net from 'node:net';
import { FramedConnection } from '../protocol/connection.js';
import { HANDSHAKE_MAX_FRAME_BYTES, HANDSHAKE_TIMEOUT_MS, acceptPeer } from '../protocol/handshake.js';
import { type TransportSecurity, createServer } from '../protocol/transport.js';
import { debug } from '../util/debug.js';

/** A refused peer's Refuse frame gets this long to go out before its socket is destroyed. */
const REFUSE_LINGER_MS = 1_000;

export interface PeerListenerOptions {
  /** The address to bind (and announce). */
  readonly host: string;
  readonly self: number;
  readonly secret: Buffer;
  readonly security: TransportSecurity;
  /** What the Welcome tells a caller (the cluster's settings, as the master gave them). */
  readonly settings: { readonly heartbeatMs: number; readonly timeoutMs: number; readonly maxFrameBytes: number };
  /** An authenticated caller: serve it on `conn`. */
  onCaller(conn: FramedConnection, caller: number): void;
}

export class PeerListener {
  readonly #server: net.Server;
  /** Connections still in their handshake: closed with the listener. */
  readonly #handshakes = new Set<FramedConnection>();
  readonly #options: PeerListenerOptions;

  private constructor(options: PeerListenerOptions) {
    this.#options = options;
    this.#server = createServer(
      options.security,
      (socket) => this.#accept(socket),
      (remote, reason) => debug(() => `worker ${options.self}: refused a direct connection from ${remote}: ${reason}`),
      { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS },
    );
  }

  /** Listen on `options.host`, an ephemeral port; resolves once listening. */
  static async open(options: PeerListenerOptions): Promise<{ listener: PeerListener; port: number }> {
    const listener = new PeerListener(options);
    const server = listener.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: 0 }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    // The worker lives as long as its connection to the master, not its listener.
    server.unref();
    return { listener, port: (server.address() as net.AddressInfo).port };
  }

  /** Stop accepting (connections already made stay). */
  close(): void {
    this.#server.close();
    for (const conn of this.#handshakes) conn.destroy();
    this.#handshakes.clear();
  }

  #accept(socket: net.Socket): void {
    const { self, secret, settings } = this.#options;
    const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
    socket.unref();
    const remote = conn.remoteAddress;
    this.#handshakes.add(conn);
    acceptPeer(
      conn,
      secret,
      ({ target }) => (target === self ? { admit: true, workerId: self, ...settings } : { admit: false, reason: `this is worker ${self}, not worker ${target} (a stale address?)` }),
      { timeoutMs: HANDSHAKE_TIMEOUT_MS },
    ).then(
      ({ identity }) => {
        this.#handshakes.delete(conn);
        conn.maxFrameBytes = settings.maxFrameBytes;
        debug(() => `worker ${self}: direct connection from worker ${identity.workerId} (${remote})`);
        this.#options.onCaller(conn, identity.workerId);
      },
      (error: Error) => {
        this.#handshakes.delete(conn);
        // As on the master: not one more byte from a refused peer is read.
        conn.dismiss(REFUSE_LINGER_MS);
        debug(() => `worker ${self}: refused a direct connection from ${remote}: ${error.message}`);
      },
    );
  }
}
