/**
 * The heartbeat loop: one timer for all workers (cheap at thousands) that sends each a
 * heartbeat and declares lost the ones silent past the timeout.
 * @module
 */
import type { WorkerLossInfo } from '../errors.js';
import { formatMs } from '../util/debug.js';
import type { LevelLogger } from '../util/logger.js';
import type { WorkerHandle } from './worker-handle.js';
import type { WorkerRoster } from './worker-roster.js';

export interface HeartbeatSettings {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export class LivenessWatch {
  readonly #roster: WorkerRoster;
  readonly #settings: HeartbeatSettings;
  readonly #logger: LevelLogger;
  readonly #lose: (handle: WorkerHandle, loss: WorkerLossInfo) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(roster: WorkerRoster, settings: HeartbeatSettings, logger: LevelLogger, lose: (handle: WorkerHandle, loss: WorkerLossInfo) => void) {
    this.#roster = roster;
    this.#settings = settings;
    this.#logger = logger;
    this.#lose = lose;
  }

  /** Start watching (from the first join on); later calls do nothing. */
  start(): void {
    if (this.#timer) return;
    const { intervalMs, timeoutMs } = this.#settings;
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const handle of this.#roster.handles()) {
        const silentMs = now - handle.conn.lastReceivedAt;
        if (silentMs > timeoutMs) {
          this.#lose(handle, { reason: 'heartbeat-timeout', detail: `no heartbeat for ${timeoutMs} ms` });
          handle.conn.destroy();
          // A frozen process (SIGSTOP, a hung node) would otherwise hold its CPUs or its job
          // until close(); its manager stops it now.
          handle.config.manager.kill?.(handle.config).catch((error: Error) => this.#logger.warn(`killing unresponsive worker ${handle.id} failed: ${error.message}`));
        } else {
          // Two intervals of silence: a heartbeat was missed. Say so (debug) before it becomes a loss.
          if (silentMs > 2 * intervalMs) this.#logger.debug(() => `worker ${handle.id}: no frame for ${formatMs(silentMs)} (heartbeats missed; lost after ${formatMs(timeoutMs)})`);
          handle.conn.heartbeat(now, intervalMs);
        }
      }
    }, intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
