/**
 * Direct connections between workers (`topology: 'all_to_all'`, protocol 1.3+): started when
 * the master sends a Direct frame. This worker then listens (peer-listener.ts), announces its
 * address to the master (which passes it on in Peers frames), serves the calls other workers
 * send it directly (direct-callee.ts), and keeps one lazily made connection per worker it
 * calls (direct-link.ts). The master's word on membership rules: a worker it reports gone has
 * its connections closed, both ways.
 * @module
 */
import type { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import { type DirectAddress, encodePeerMessage } from '../protocol/messages.js';
import type { TransportSecurity } from '../protocol/transport.js';
import { debug } from '../util/debug.js';
import { DirectCallee } from './direct-callee.js';
import { DirectLink, type LinkOwner } from './direct-link.js';
import type { FunctionTable } from './functions.js';
import { PeerListener } from './peer-listener.js';

export interface DirectPeersOptions {
  /** The connection to the master: the address it was dialled from is the one to listen on, and the announcement goes there. */
  readonly master: FramedConnection;
  readonly self: number;
  readonly secret: Buffer;
  readonly security: TransportSecurity;
  /** The worker's function table, shared with the master's calls. */
  readonly functions: FunctionTable;
  readonly settings: { readonly heartbeatMs: number; readonly timeoutMs: number };
  /** The peer client: where Replies go, and the master path for calls no link can take. */
  readonly owner: LinkOwner;
}

/** Start direct connections (the master sent a Direct frame): listen, announce, and hand the peer client its links. */
export function startDirectPeers(options: Omit<DirectPeersOptions, 'owner'> & { readonly owner: LinkOwner & { attachDirect(direct: DirectPeers): void } }): DirectPeers {
  const direct = new DirectPeers(options);
  options.owner.attachDirect(direct);
  void direct.listen();
  return direct;
}

export class DirectPeers {
  readonly #options: DirectPeersOptions;
  readonly #callee: DirectCallee;
  /** Where the other workers listen, as the master said. */
  readonly #addresses = new Map<number, { host: string; port: number }>();
  /** Connections this worker made, by the worker called. */
  readonly #links = new Map<number, DirectLink>();
  /** Connections other workers made to this one, by caller. */
  readonly #callers = new Map<number, Set<FramedConnection>>();
  #listener: PeerListener | undefined;

  constructor(options: DirectPeersOptions) {
    this.#options = options;
    this.#callee = new DirectCallee(options.functions, options.self);
  }

  /** Listen and tell the master where. A listener that cannot open is reported; calls to this worker then go through the master. */
  async listen(): Promise<void> {
    const { master, self, secret, security, settings } = this.#options;
    const host = master.socket.localAddress;
    if (!host) return;
    try {
      const { listener, port } = await PeerListener.open({
        host,
        self,
        secret,
        security,
        settings: { ...settings, maxFrameBytes: master.maxFrameBytes },
        onCaller: (conn, caller) => this.#serve(conn, caller),
      });
      this.#listener = listener;
      debug(() => `worker ${self} listens for direct calls on ${host}:${port}`);
      if (!master.closed) master.send(FrameType.Direct, encodePeerMessage({ host, port }));
    } catch (error) {
      process.stderr.write(`cm-worker: cannot listen for direct calls from other workers on ${host} (${(error as Error).message}); they will reach this worker through the master\n`);
    }
  }

  /** The connection for calls to `target`, made on first use; undefined when calls to it go through the master. */
  link(target: number): DirectLink | undefined {
    const known = this.#links.get(target);
    if (known) return known.failed ? undefined : known;
    const address = this.#addresses.get(target);
    if (!address) return undefined;
    const link = new DirectLink(target, address.host, address.port, this.#options, this.#options.owner);
    this.#links.set(target, link);
    return link;
  }

  /** The master passed on listening addresses. A new address for a worker replaces its connection. */
  learn(addresses: readonly DirectAddress[]): void {
    for (const [id, host, port] of addresses) {
      const known = this.#addresses.get(id);
      if (known && known.host === host && known.port === port) continue;
      this.#addresses.set(id, { host, port });
      this.#links.get(id)?.close(`worker ${id} moved to ${host}:${port}`);
      this.#links.delete(id);
    }
  }

  /** The master says these workers are gone: close their connections both ways (their calls fail or are cancelled). */
  forget(ids: Iterable<number>): void {
    for (const id of ids) {
      this.#addresses.delete(id);
      this.#links.get(id)?.close(`the master reports worker ${id} gone`);
      this.#links.delete(id);
      for (const conn of this.#callers.get(id) ?? []) conn.destroy();
      this.#callers.delete(id);
    }
  }

  /** Keep only these workers (the master sent the full list). */
  retain(ids: readonly number[]): void {
    const current = new Set(ids);
    this.forget([...new Set([...this.#addresses.keys(), ...this.#links.keys(), ...this.#callers.keys()])].filter((id) => !current.has(id)));
  }

  /** Where worker `id` listens, as `host:port`, once the master has said. */
  addressOf(id: number): string | undefined {
    const address = this.#addresses.get(id);
    return address && `${address.host}:${address.port}`;
  }

  /** Stop accepting direct connections (calls to this worker then go through the master once callers find it unreachable). */
  closeListener(): void {
    this.#listener?.close();
  }

  #serve(conn: FramedConnection, caller: number): void {
    const conns = this.#callers.get(caller) ?? new Set<FramedConnection>();
    this.#callers.set(caller, conns);
    conns.add(conn);
    conn.onClose(() => conns.delete(conn));
    this.#callee.serve(conn, caller);
  }
}
