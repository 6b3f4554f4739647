/**
 * How workers leave the master: removed on request (asked to exit, killed by their manager
 * past the grace period) or lost (connection closed, heartbeats stopped). Either way their
 * calls fail with the reason, the call router forgets them, and their manager is told.
 * @module
 */
import type { EventEmitter } from 'node:events';
import { LaunchError, type WorkerLossInfo } from '../errors.js';
import { holdOpen } from '../util/keep-alive.js';
import type { LevelLogger } from '../util/logger.js';
import type { LaunchBook } from './launch-book.js';
import { combineDetail, explainWithin } from './loss.js';
import type { CallRouter } from './router.js';
import type { ClusterEvents } from './types.js';
import type { WorkerHandle } from './worker-handle.js';
import type { WorkerRoster } from './worker-roster.js';

/** How long a lost worker's manager may take to say what happened before calls are failed anyway. */
const EXPLAIN_LOSS_TIMEOUT_MS = 1_000;

/** What departures need of the cluster. */
export interface DepartureHost {
  readonly roster: WorkerRoster;
  readonly router: CallRouter;
  readonly logger: LevelLogger;
  readonly launches: Pick<LaunchBook, 'get'>;
  /** How long a worker asked to exit has before its manager kills it. */
  readonly shutdownGraceMs: number;
  /** The cluster, which announces `worker-removed` and `worker-lost`. */
  readonly events: EventEmitter<ClusterEvents>;
}

export class WorkerDepartures {
  readonly #host: DepartureHost;

  constructor(host: DepartureHost) {
    this.#host = host;
  }

  /** Remove a worker on purpose (rmprocs, a failed launch, an idle adaptive worker, close). */
  async remove(handle: WorkerHandle, loss: WorkerLossInfo): Promise<void> {
    if (!this.#host.roster.strike(handle.id)) return;
    const release = holdOpen();
    try {
      await this.#stop(handle, loss);
    } finally {
      release();
    }
  }

  async #stop(handle: WorkerHandle, loss: WorkerLossInfo): Promise<void> {
    const { roster, router, logger, shutdownGraceMs, events } = this.#host;
    roster.recordGone(handle.id, loss.detail ?? loss.reason);
    handle.failAll(loss);
    router.left(handle, loss);
    if (!(await handle.askToExit(loss.detail ?? loss.reason, shutdownGraceMs))) {
      logger.warn(`worker ${handle.id} did not exit within ${shutdownGraceMs} ms of being asked; killing it`);
      await handle.config.manager.kill?.(handle.config).catch((error: Error) => logger.warn(`killing worker ${handle.id} failed: ${error.message}`));
      handle.conn.destroy();
    }
    logger.info(`worker ${handle.id} removed (${loss.detail ?? loss.reason})`);
    events.emit('worker-removed', handle.config);
    handle.config.manager.manage?.(handle.config, 'removed');
  }

  /** A worker went away without being removed: fail its calls with what its manager can tell us. */
  async lost(handle: WorkerHandle, loss: WorkerLossInfo): Promise<void> {
    const { roster, router, logger, launches, events } = this.#host;
    if (!roster.strike(handle.id)) return;
    handle.leaving = loss;
    const { manager } = handle.config;
    const explanation = manager.explainLoss ? await explainWithin(manager.explainLoss(handle.config), EXPLAIN_LOSS_TIMEOUT_MS) : undefined;
    const detail = combineDetail(loss, explanation);
    const full: WorkerLossInfo = { ...loss, detail };
    roster.recordGone(handle.id, `lost: ${detail ?? loss.reason}`);
    handle.failAll(full);
    router.left(handle, full);
    logger.warn(`worker ${handle.id} (${handle.config.host}, pid ${handle.config.pid}) was lost (${loss.reason})${detail ? `: ${detail}` : ''}`);
    const launch = launches.get(handle.config.launchId);
    // A launch that takes workers at any time (elastic) does not fail because one left early.
    if (launch && !launch.settled && !manager.acceptsLateWorkers) {
      launch.fail(
        new LaunchError(`worker ${handle.id} of a ${manager.name} launch was lost before all workers had joined: ${detail ?? loss.reason}`, {
          manager: manager.name,
          joined: launch.joined.length,
          expected: launch.expected,
        }),
      );
    }
    events.emit('worker-lost', handle.config, full);
    manager.manage?.(handle.config, 'lost');
  }
}
