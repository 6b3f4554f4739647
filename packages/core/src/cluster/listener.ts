/**
 * The master's listening sockets. One on loopback for local workers; one on all interfaces
 * (advertising a routable address) once a manager needs workers on other machines — or
 * exactly the one the user configured with `host`.
 * @module
 */
import net from 'node:net';
import { LaunchError, UsageError } from '../errors.js';
import { routableAddress } from '../util/address.js';

export interface ListenAddress {
  /** The address workers dial. */
  host: string;
  port: number;
}

type Scope = 'loopback' | 'network';

export class MasterListener {
  readonly #servers = new Map<Scope | 'configured', { server: net.Server; address: ListenAddress }>();
  readonly #opening = new Map<string, Promise<ListenAddress>>();

  constructor(
    private readonly options: { host?: string | undefined; advertiseHost?: string | undefined; port: number | [number, number] },
    private readonly onConnection: (socket: net.Socket) => void,
  ) {}

  /** Listen (once per scope) and return the address workers should dial. */
  address(needsNetwork: boolean): Promise<ListenAddress> {
    const scope: Scope | 'configured' = this.options.host ? 'configured' : needsNetwork ? 'network' : 'loopback';
    const open = this.#servers.get(scope);
    if (open) return Promise.resolve(open.address);
    let opening = this.#opening.get(scope);
    if (!opening) {
      opening = this.#open(scope).finally(() => this.#opening.delete(scope));
      this.#opening.set(scope, opening);
    }
    return opening;
  }

  async #open(scope: Scope | 'configured'): Promise<ListenAddress> {
    const bindHost = scope === 'configured' ? this.options.host! : scope === 'network' ? '0.0.0.0' : '127.0.0.1';
    let advertise = this.options.advertiseHost ?? (scope === 'network' ? routableAddress() : bindHost);
    if (!advertise) {
      throw new LaunchError('the master needs an address that other machines can reach, but this machine has no non-loopback interface; set the Cluster option `advertiseHost`', { manager: 'cluster' });
    }
    if (scope === 'configured' && (bindHost === '0.0.0.0' || bindHost === '::') && !this.options.advertiseHost) advertise = routableAddress() ?? bindHost;
    const [first, last] = typeof this.options.port === 'number' ? [this.options.port, this.options.port] : this.options.port;
    let lastError: Error | undefined;
    for (let port = first; port <= last; port++) {
      const server = net.createServer({ noDelay: true }, this.onConnection);
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
      this.#servers.set(scope, { server, address });
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
