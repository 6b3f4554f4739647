/**
 * ElasticManager: the master listens, and workers join whenever someone starts one with
 * the printed connect command — by hand, from a site's own scripts, on any machine that
 * can reach the master. The manager starts nothing itself; it writes the secret file,
 * says how to start a worker, and keeps the lists of workers that came and went.
 * @module
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { UsageError } from '@cm/core';
import { type ClusterManager, type LaunchContext, type ListenRequest, WORKER_ENV, type WorkerConfig, type WorkerEvent, parseOptions } from '@cm/core/driver';
import { z } from 'zod';
import { type ElasticAddress, type NetworkInterfaces, resolveElasticAddress } from './address.js';
import { type ConnectCommandOptions, type ConnectTarget, connectCommand } from './connect-command.js';
import { readSecretFileSync, removeSecretFileSync, writeSecretFileSync } from './secret-file.js';

const printingSchema = z
  .object({
    /** Absolute path of node in the printed command (default true), else plain `node`. */
    absoluteExe: z.boolean().optional(),
    /** Begin the printed command with `cd <master's cwd> &&` (default true). */
    sameCwd: z.boolean().optional(),
  })
  .strict();

export const elasticManagerOptionsSchema = z
  .object({
    /** Where to listen: `'auto'` (all interfaces, advertising the routable address), `'0.0.0.0'`, `'::'`, or one address. */
    addr: z.string().min(1).default('auto'),
    /** Port to listen on; 0 (default) lets the OS pick. Fix it (e.g. 9009) when a firewall or a site's scripts need a known port. */
    port: z.number().int().min(0).max(65535).default(0),
    /**
     * Only `'master_worker'`, for ClusterManagers.jl's option name: in @cm the topology is the
     * Cluster's (`new Cluster({ topology: 'all_to_all' })`), for elastic workers as for any others.
     */
    topology: z.string().default('master_worker'),
    /** Workers `addprocs` waits for before it resolves (default 0: resolve at once; workers join at any time). */
    np: z.number().int().min(0).default(0),
    /** With `addr: 'auto'`: the network interface whose address workers dial (e.g. `ib0`). */
    interface: z.string().min(1).optional(),
    /**
     * File (mode 0600) holding the cluster secret, which workers read through CM_SECRET_FILE.
     * If it exists it must hold the Cluster's secret (see `loadOrCreateSecret`); otherwise the
     * manager writes the Cluster's secret there and deletes it on close. Default:
     * `~/.cm/elastic-<launch id>.secret` (home directories are shared across a cluster's nodes).
     */
    secretFile: z.string().min(1).optional(),
    /** How `toString()` and `util.inspect` write the connect command. */
    printing: printingSchema.default({}),
    /** The network interfaces to choose from (default `os.networkInterfaces()`). For tests. */
    networkInterfaces: z.custom<() => NetworkInterfaces>((v) => typeof v === 'function', 'must be a function returning os.networkInterfaces()-shaped data').optional(),
  })
  .strict();
export type ElasticManagerOptions = z.input<typeof elasticManagerOptionsSchema>;

/** Events an ElasticManager emits. */
export interface ElasticManagerEvents {
  /** The master listens; `command` starts a worker. */
  ready: [info: { host: string; port: number; command: string }];
  'worker-joined': [worker: WorkerConfig];
  /** A worker disconnected (`lost`) or was removed with `rmprocs`/`close` (`removed`); it is now terminated. */
  'worker-left': [worker: WorkerConfig, reason: 'lost' | 'removed'];
}

/** A worker that has left, and how. */
export interface TerminatedWorker {
  id: number;
  host: string;
  pid: number;
  reason: 'lost' | 'removed';
}

/**
 * Workers that join at any time, from anywhere, started with the command the manager prints.
 *
 * The secret belongs to the Cluster (`new Cluster({ secret })`, Julia's `cookie`): the
 * manager learns it when `addprocs` starts it and writes it to `secretFile` for the workers.
 * An ElasticManager serves one `addprocs`.
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * const elastic = new ElasticManager({ addr: 'auto', port: 9009 });
 * await cluster.addprocs(elastic);
 * console.log(String(elastic)); // lists workers and prints the command that starts one
 * elastic.on('worker-joined', (w) => console.log(`worker ${w.id} joined from ${w.host}`));
 * ```
 */
export class ElasticManager extends EventEmitter<ElasticManagerEvents> implements ClusterManager {
  readonly name = 'elastic';
  readonly expectedWorkers: number;
  readonly acceptsLateWorkers = true;
  readonly needsRoutableAddress: boolean;
  readonly listen: ListenRequest;
  /** People start elastic workers by hand: wait longer than for local processes when `np` > 0. */
  readonly defaultLaunchTimeoutMs = 600_000;
  readonly #options: z.output<typeof elasticManagerOptionsSchema>;
  readonly #address: ElasticAddress;
  readonly #active = new Map<number, WorkerConfig>();
  readonly #terminated: TerminatedWorker[] = [];
  #target: ConnectTarget | undefined;
  #createdSecretFile: string | undefined;
  #refusedSecondLaunch = false;
  #closed = false;

  /** @throws UsageError for invalid options, an unsupported topology, or no address to advertise */
  constructor(options: ElasticManagerOptions = {}) {
    super();
    this.#options = parseOptions(elasticManagerOptionsSchema, options, 'ElasticManager options');
    const { topology, addr, port } = this.#options;
    if (topology === 'all_to_all') {
      throw new UsageError(
        "ElasticManager: topology 'all_to_all' is not a manager option in @cm: the topology is the whole cluster's. Pass `topology: 'all_to_all'` to `new Cluster(…)` (elastic workers then listen for and make direct calls like any other; docs/worker-calls.md) and leave ElasticManager's `topology` at 'master_worker' (the default)",
        'topology',
      );
    }
    if (topology !== 'master_worker') throw new UsageError(`ElasticManager: unknown topology '${topology}'; use 'master_worker'`, 'topology');
    if (this.#options.interface !== undefined && addr !== 'auto' && addr !== '0.0.0.0' && addr !== '::') {
      throw new UsageError(`ElasticManager: \`interface\` chooses the address for addr 'auto'; leave it out when \`addr\` is an address (${addr})`, 'interface');
    }
    const interfaces = (this.#options.networkInterfaces ?? os.networkInterfaces)();
    this.#address = resolveElasticAddress(addr, interfaces, this.#options.interface);
    // Checked now so a world-readable file is reported before the master listens.
    if (this.#options.secretFile) readSecretFileSync(this.#options.secretFile);
    this.expectedWorkers = this.#options.np;
    this.needsRoutableAddress = !/^(127\.|::1$|localhost$)/.test(this.#address.advertise);
    this.listen = { host: this.#address.bind, port, advertiseHost: this.#address.advertise };
  }

  async launch(context: LaunchContext): Promise<void> {
    if (this.#target || this.#closed) {
      this.#refusedSecondLaunch = true;
      throw new UsageError('an ElasticManager serves one addprocs, and this one already has (or was closed); create a new ElasticManager');
    }
    const secret = context.workerEnv[WORKER_ENV.secret];
    if (!secret) throw new UsageError('ElasticManager: the cluster gave no secret in the worker environment; this @cm/core is not compatible');
    const secretFile = path.resolve(this.#options.secretFile ?? path.join(os.homedir(), '.cm', `elastic-${context.launchId}.secret`));
    const existing = readSecretFileSync(secretFile);
    if (existing === undefined) {
      writeSecretFileSync(secretFile, secret);
      this.#createdSecretFile = secretFile;
    } else if (!Buffer.from(existing, 'base64url').equals(Buffer.from(secret, 'base64url'))) {
      throw new UsageError(
        `ElasticManager: secret file ${secretFile} holds a different secret than this Cluster; create the Cluster with it (\`new Cluster({ secret: await loadOrCreateSecret(${JSON.stringify(secretFile)}) })\`) or choose a \`secretFile\` path that does not exist yet`,
        'secretFile',
      );
    }
    this.#target = {
      host: context.master.host,
      port: context.master.port,
      launchId: context.launchId,
      secretFile,
      tls: context.workerEnv[WORKER_ENV.tls] === '1',
      workerCommand: context.workerCommand,
      cwd: process.cwd(),
    };
    this.emit('ready', { host: context.master.host, port: context.master.port, command: this.connectCommand() });
  }

  manage(worker: WorkerConfig, event: WorkerEvent): void {
    if (event === 'joined') {
      this.#active.set(worker.id, worker);
      this.emit('worker-joined', worker);
      return;
    }
    if (!this.#active.delete(worker.id)) return;
    this.#terminated.push({ id: worker.id, host: worker.host, pid: worker.pid, reason: event });
    this.emit('worker-left', worker, event);
  }

  async shutdown(): Promise<void> {
    // A refused second addprocs rolls back through shutdown too; it must not end the first.
    if (this.#refusedSecondLaunch) {
      this.#refusedSecondLaunch = false;
      return;
    }
    this.#closed = true;
    if (this.#createdSecretFile) removeSecretFileSync(this.#createdSecretFile);
    this.#createdSecretFile = undefined;
  }

  /** Ids of the workers connected now, in the order they joined. */
  activeWorkers(): number[] {
    return [...this.#active.keys()];
  }

  /** Workers that disconnected or were removed, oldest first. */
  terminatedWorkers(): TerminatedWorker[] {
    return this.#terminated.map((w) => ({ ...w }));
  }

  /** The address workers dial and the port (0 until `addprocs` has started the manager, when the OS picks). */
  get address(): { bind: string; host: string; port: number } {
    return { bind: this.#address.bind, host: this.#target?.host ?? this.#address.advertise, port: this.#target?.port ?? this.#options.port };
  }

  /** Path of the file workers read the secret from, once started. */
  get secretFile(): string | undefined {
    return this.#target?.secretFile;
  }

  /**
   * The shell line that starts one worker on any machine that can reach the master and read
   * the secret file (on a shared filesystem, or copied there with mode 0600).
   * @throws UsageError before `addprocs` has started the manager
   */
  connectCommand(options: ConnectCommandOptions = this.#options.printing): string {
    if (!this.#target) throw new UsageError('ElasticManager: the connect command is known once the manager is started: `await cluster.addprocs(manager)` first');
    return connectCommand(this.#target, options);
  }

  override toString(): string {
    const { bind, host, port } = this.address;
    const list = (ids: number[]) => (ids.length ? ids.join(', ') : '(none)');
    const lines = [
      `ElasticManager (${this.#options.topology}) ${this.#target ? 'listening on' : 'will listen on'} ${bind}:${port}${bind === host ? '' : `, workers dial ${host}`}${this.#closed ? ' [closed]' : ''}`,
      `  active workers: ${list(this.activeWorkers())}`,
      `  workers expected: ${this.expectedWorkers}${this.expectedWorkers ? ` (addprocs waits for them)` : ''}; more may join at any time`,
      `  terminated workers: ${list(this.#terminated.map((w) => w.id))}`,
    ];
    if (this.#target && !this.#closed) {
      lines.push(`  start a worker on any machine that can reach ${host}:${port} and read ${this.#target.secretFile}:`, `    ${this.connectCommand()}`);
    } else if (!this.#target) {
      lines.push('  not started: pass it to cluster.addprocs() to get the command that starts a worker');
    }
    return lines.join('\n');
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
