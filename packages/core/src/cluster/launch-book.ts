/**
 * The master's book of launches: each `addprocs` run from the manager's start to the last
 * worker joining (or its failure, timeout or abort, which undoes what it started), the
 * launches still taking workers (elastic ones stay open), and every manager ever used, so
 * close() can stop them all.
 * @module
 */
import type { EventEmitter } from 'node:events';
import { LaunchError } from '../errors.js';
import type { ClusterManager } from '../manager/types.js';
import { formatMs } from '../util/debug.js';
import type { LevelLogger } from '../util/logger.js';
import { Launch } from './launch.js';
import type { ListenAddress } from './listener.js';
import type { ClusterEvents } from './types.js';

const DEFAULT_LAUNCH_TIMEOUT_MS = 120_000;

/** What the launch book needs of the cluster. */
export interface LaunchBookHost {
  readonly logger: LevelLogger;
  readonly encrypt: boolean;
  readonly secret: Buffer;
  /** The cluster, which announces `launch-progress`. */
  readonly events: EventEmitter<ClusterEvents>;
  /** Remove those of `ids` that are still current workers (a failed launch is undone). */
  removeWorkers(ids: readonly number[]): Promise<void>;
}

export class LaunchBook {
  readonly #host: LaunchBookHost;
  /** Launches that may still take workers. */
  readonly #open = new Map<string, Launch>();
  readonly #managers = new Set<ClusterManager>();

  constructor(host: LaunchBookHost) {
    this.#host = host;
  }

  get(launchId: string): Launch | undefined {
    return this.#open.get(launchId);
  }

  /** The open launch of `manager` (an adaptive pool's elastic launch). */
  of(manager: ClusterManager): Launch | undefined {
    return [...this.#open.values()].find((launch) => launch.manager === manager);
  }

  /** Start `manager`'s workers dialling `master`; resolves to their ids once all have joined. */
  async run(manager: ClusterManager, master: ListenAddress, options: { readonly timeoutMs?: number | undefined; readonly signal?: AbortSignal | undefined }): Promise<number[]> {
    const { logger, events } = this.#host;
    const launch = new Launch(manager);
    this.#open.set(launch.id, launch);
    this.#managers.add(manager);
    logger.debug(() => `launch ${launch.id}: ${manager.name} starting ${manager.expectedWorkers} worker(s); workers dial ${master.host}:${master.port}`);

    const stopWatching = launch.failOnTimeoutOrAbort(options.timeoutMs ?? manager.defaultLaunchTimeoutMs ?? DEFAULT_LAUNCH_TIMEOUT_MS, options.signal);

    const context = launch.context(master, { encrypt: this.#host.encrypt, secret: this.#host.secret }, (update) => {
      logger.debug(() => `launch ${launch.id}: ${update.message}`);
      events.emit('launch-progress', { ...update, launchId: launch.id, manager: manager.name, joined: launch.joined.length, expected: launch.expected, elapsedMs: launch.elapsedMs() });
    });
    manager.launch(context).then(
      () => {
        if (launch.expected === 0) launch.succeed();
      },
      (error: Error) => launch.fail(error),
    );
    try {
      await launch.done;
      logger.info(`${manager.name}: ${launch.joined.length} worker(s) joined in ${formatMs(launch.elapsedMs())} (launch ${launch.id}: workers ${launch.joined.join(', ') || 'none'})`);
      return [...launch.joined];
    } catch (error) {
      logger.debug(() => `launch ${launch.id} failed after ${formatMs(launch.elapsedMs())}: ${(error as Error).message}`);
      await this.#rollBack(launch, (error as Error).message);
      throw error;
    } finally {
      stopWatching();
      if (!manager.acceptsLateWorkers) this.#open.delete(launch.id);
    }
  }

  async #rollBack(launch: Launch, reason: string): Promise<void> {
    const { logger } = this.#host;
    this.#open.delete(launch.id);
    await this.#host.removeWorkers(launch.joined).catch((error: Error) => logger.warn(`while undoing a failed launch: ${error.message}`));
    await launch.manager.shutdown?.(reason, launch.id).catch((error: Error) => logger.warn(`${launch.manager.name} shutdown failed: ${error.message}`));
  }

  /** The cluster is closing: fail every launch still running and stop every manager's jobs and processes. */
  failAll(): void {
    for (const launch of this.#open.values()) {
      launch.fail(new LaunchError(`${launch.manager.name} launch stopped: the cluster was closed`, { manager: launch.manager.name, joined: launch.joined.length, expected: launch.expected }));
    }
  }

  async shutdownManagers(): Promise<void> {
    await Promise.all(
      [...this.#managers].map(async (manager) => {
        try {
          await manager.shutdown?.('the cluster was closed');
        } catch (error) {
          this.#host.logger.warn(`${manager.name} shutdown failed: ${(error as Error).message}`);
        }
      }),
    );
  }
}
