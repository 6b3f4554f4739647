/**
 * The master's listening sockets. One on loopback for local workers; one on all interfaces
 * (advertising a routable address) once a manager needs workers on other machines — or
 * exactly the one the user configured with `host`.
 * @module
 */
import type net from 'node:net';
import { LaunchError, UsageError } from '../errors.js';
import { HANDSHAKE_TIMEOUT_MS } from '../protocol/handshake.js';
import { type TransportSecurity, createServer } from '../protocol/transport.js';
import { describeInterfaces, interfaceAddress, routableAddress } from '../util/address.js';

/** The handshake deadline (protocol/handshake.ts), where the master's listener is. */
export { HANDSHAKE_TIMEOUT_MS };

function interfaceHost(name: string, host: string | undefined): string {
  if (host !== undefined) throw new UsageError('invalid Cluster options: give `host` or `interface`, not both', 'interface');
  const address = interfaceAddress(name);
  if (!address) throw new UsageError(`invalid Cluster options: \`interface\`: this machine has no interface ${name}; it has ${describeInterfaces()}`, 'interface');
  return address;
}

export interface ListenAddress {
  /** The address workers dial. */
  host: string;
  port: number;
}

/** A listening address a manager asks for (e.g. an elastic manager on a fixed port). */
export interface ListenRequest {
  /** Interface to bind; `'auto'` binds all interfaces and advertises the routable address. */
  host?: string | undefined;
  /** Port or inclusive range; 0 lets the OS pick. */
  port?: number | [number, number] | undefined;
  /** Address workers dial, when it differs from the bound one. */
  advertiseHost?: string | undefined;
}

export class MasterListener {
  readonly #servers = new Map<string, { server: net.Server; address: ListenAddress }>();
  readonly #opening = new Map<string, Promise<ListenAddress>>();

  private readonly options: { host?: string | undefined; advertiseHost?: string | undefined; port: number | [number, number] };

  /** @throws UsageError for an `interface` this machine does not have, or both `host` and `interface` */
  constructor(
    options: { host?: string | undefined; interface?: string | undefined; advertiseHost?: string | undefined; port: number | [number, number] },
    private readonly security: TransportSecurity,
    private readonly onConnection: (socket: net.Socket) => void,
    private readonly onRejected: (remoteAddress: string, reason: string) => void,
  ) {
    this.options = { ...options, host: options.interface === undefined ? options.host : interfaceHost(options.interface, options.host) };
  }

  /**
   * Listen (once per scope, or once per explicit request) and return the address workers
   * should dial. Without a request: the configured `host`, else loopback, else (for managers
   * whose workers run elsewhere) all interfaces.
   */
  address(needsNetwork: boolean, request?: ListenRequest): Promise<ListenAddress> {
    const explicit = request && (request.host !== undefined || request.port !== undefined);
    const key = explicit ? `${request.host ?? ''}|${String(request.port ?? 0)}` : this.options.host ? 'configured' : needsNetwork ? 'network' : 'loopback';
    const open = this.#servers.get(key);
    if (open) return Promise.resolve(open.address);
    let opening = this.#opening.get(key);
    if (!opening) {
      const target = explicit
        ? { host: request.host ?? this.options.host ?? (needsNetwork ? 'auto' : '127.0.0.1'), port: request.port ?? 0, advertiseHost: request.advertiseHost }
        : this.options.host
          ? { host: this.options.host, port: this.options.port, advertiseHost: this.options.advertiseHost }
          : { host: needsNetwork ? 'auto' : '127.0.0.1', port: this.options.port, advertiseHost: this.options.advertiseHost };
      opening = this.#open(key, target).finally(() => this.#opening.delete(key));
      this.#opening.set(key, opening);
    }
    return opening;
  }

  async #open(key: string, target: { host: string; port: number | [number, number]; advertiseHost?: string | undefined }): Promise<ListenAddress> {
    const wildcard = target.host === 'auto' || target.host === '0.0.0.0' || target.host === '::';
    const bindHost = target.host === 'auto' ? '0.0.0.0' : target.host;
    const advertise = target.advertiseHost ?? (wildcard ? routableAddress() : bindHost);
    if (!advertise) {
      throw new LaunchError(
        'the master needs an address that other machines can reach, but this machine has no non-loopback network interface; set `advertiseHost` (Cluster option) or a host explicitly',
        { manager: 'cluster' },
      );
    }
    const [first, last] = typeof target.port === 'number' ? [target.port, target.port] : target.port;
    let lastError: Error | undefined;
    for (let port = first; port <= last; port++) {
      const server = createServer(this.security, this.onConnection, this.onRejected, { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: bindHost, port, backlog: 4096 }, () => {
            server.removeListener('error', reject);
            resolve();
          });
        });
      } catch (error) {
        lastError = error as Error;
        continue;
      }
      // The listening socket alone must not keep the master's process alive: a program that
      // is done exits, and its workers follow when their connections close.
      server.unref();
      const bound = (server.address() as net.AddressInfo).port;
      const address = { host: advertise, port: bound };
      this.#servers.set(key, { server, address });
      return address;
    }
    const range = first === last ? `port ${first}` : `ports ${first}-${last}`;
    throw new UsageError(`the master could not listen on ${bindHost} ${range}: ${lastError?.message ?? 'unknown error'}; choose another \`port\` (0 lets the OS pick)`, 'port');
  }

  async close(): Promise<void> {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all(servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
