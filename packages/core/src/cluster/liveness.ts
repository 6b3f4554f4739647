/**
 * The heartbeat loop: one timer for all workers (cheap at thousands) that sends each a
 * heartbeat and declares lost the ones silent past their timeout.
 *
 * The pace grows with the cluster (protocol 1.4+): past `maxPerSecond × intervalMs / 1000`
 * workers the interval and the timeout are multiplied by a whole factor, so the master handles
 * at most about `maxPerSecond` heartbeats a second however many workers it has (at 20,000, 8,000
 * heartbeat frames a second were 8% of a core). The pace rides on the master's own Heartbeats,
 * so telling it costs no frame; workers of 1.3 and older keep the configured one.
 * @module
 */
import type { WorkerLossInfo } from '../errors.js';
import { FrameType } from '../protocol/frame.js';
import { type HeartbeatPace, encodeHeartbeatPace } from '../protocol/heartbeat-pace.js';
import { HEARTBEAT_PACE_MIN_MINOR } from '../protocol/version.js';
import { formatMs } from '../util/debug.js';
import { MAX_TIMER_MS } from '../util/keep-alive.js';
import type { LevelLogger } from '../util/logger.js';
import type { WorkerHandle } from './worker-handle.js';
import type { WorkerRoster } from './worker-roster.js';

export interface HeartbeatSettings {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The most heartbeats per second the master takes from all workers together. */
  readonly maxPerSecond: number;
}

/**
 * The pace of a cluster of `workers`: the configured one, or both its interval and timeout
 * multiplied by the smallest whole factor that keeps heartbeats within `maxPerSecond`.
 */
export function heartbeatPace(workers: number, settings: HeartbeatSettings): HeartbeatPace {
  const perInterval = (settings.maxPerSecond * settings.intervalMs) / 1000;
  const factor = Math.min(Math.max(1, Math.ceil(workers / perInterval)), Math.floor(MAX_TIMER_MS / settings.timeoutMs));
  return { heartbeatMs: settings.intervalMs * factor, timeoutMs: settings.timeoutMs * factor };
}

/** What a worker of 1.4+ was last told, and a longer timeout told before that still holds until `until`. */
interface Told {
  pace: HeartbeatPace;
  earlier: { timeoutMs: number; until: number } | undefined;
}

export class LivenessWatch {
  readonly #roster: WorkerRoster;
  readonly #settings: HeartbeatSettings;
  readonly #configured: HeartbeatPace;
  readonly #logger: LevelLogger;
  readonly #lose: (handle: WorkerHandle, loss: WorkerLossInfo) => void;
  /** The pace each worker of 1.4+ has been told; the others have the configured one. */
  readonly #told = new WeakMap<WorkerHandle, Told>();
  /** The cluster's pace and its Heartbeat payload, recomputed when the factor changes. */
  #current: { pace: HeartbeatPace; payload: Buffer };
  #timer: NodeJS.Timeout | undefined;

  constructor(roster: WorkerRoster, settings: HeartbeatSettings, logger: LevelLogger, lose: (handle: WorkerHandle, loss: WorkerLossInfo) => void) {
    this.#roster = roster;
    this.#settings = settings;
    this.#configured = { heartbeatMs: settings.intervalMs, timeoutMs: settings.timeoutMs };
    this.#logger = logger;
    this.#lose = lose;
    this.#current = { pace: this.#configured, payload: encodeHeartbeatPace(this.#configured) };
  }

  /** The pace a worker being admitted gets in its Welcome: the cluster's, counting it, or for a worker before 1.4 the configured one. */
  welcomePace(protocolMinor: number): HeartbeatPace {
    return protocolMinor >= HEARTBEAT_PACE_MIN_MINOR ? this.#paceOf(this.#roster.size + 1).pace : this.#configured;
  }

  /** Watch a worker that joined with `pace` in its Welcome (from the first join on, the loop runs). */
  watch(handle: WorkerHandle, pace: HeartbeatPace): void {
    if (handle.protocolMinor >= HEARTBEAT_PACE_MIN_MINOR) this.#told.set(handle, { pace, earlier: undefined });
    this.#start();
  }

  #start(): void {
    if (this.#timer) return;
    // The configured interval is the tick: a grown pace is a whole multiple of it.
    this.#timer = setInterval(() => this.#tick(Date.now()), this.#settings.intervalMs).unref();
  }

  #paceOf(workers: number): { pace: HeartbeatPace; payload: Buffer } {
    const pace = heartbeatPace(workers, this.#settings);
    if (pace.heartbeatMs !== this.#current.pace.heartbeatMs) {
      this.#current = { pace, payload: encodeHeartbeatPace(pace) };
      this.#logger.debug(() => `heartbeat pace for ${workers} workers: every ${formatMs(pace.heartbeatMs)}, lost after ${formatMs(pace.timeoutMs)} of silence`);
    }
    return this.#current;
  }

  #tick(now: number): void {
    const current = this.#paceOf(this.#roster.size);
    for (const handle of this.#roster.handles()) {
      const told = this.#told.get(handle);
      const pace = told?.pace ?? this.#configured;
      const timeoutMs = told?.earlier && now < told.earlier.until ? Math.max(pace.timeoutMs, told.earlier.timeoutMs) : pace.timeoutMs;
      const silentMs = now - handle.conn.lastReceivedAt;
      if (silentMs > timeoutMs) {
        this.#lose(handle, { reason: 'heartbeat-timeout', detail: `no heartbeat for ${timeoutMs} ms` });
        handle.conn.destroy();
        // A frozen process (SIGSTOP, a hung node) would otherwise hold its CPUs or its job
        // until close(); its manager stops it now.
        handle.config.manager.kill?.(handle.config).catch((error: Error) => this.#logger.warn(`killing unresponsive worker ${handle.id} failed: ${error.message}`));
        continue;
      }
      // Two intervals of silence: a heartbeat was missed. Say so (debug) before it becomes a loss.
      if (silentMs > 2 * pace.heartbeatMs) this.#logger.debug(() => `worker ${handle.id}: no frame for ${formatMs(silentMs)} (heartbeats missed; lost after ${formatMs(timeoutMs)})`);
      // Any frame is a sign of life: a heartbeat only follows a quiet interval.
      if (now - handle.conn.lastSentAt < pace.heartbeatMs * 0.9) continue;
      if (!told) {
        handle.conn.send(FrameType.Heartbeat);
        continue;
      }
      handle.conn.send(FrameType.Heartbeat, current.payload);
      if (current.pace.heartbeatMs === told.pace.heartbeatMs) continue;
      // A shorter timeout holds once the worker surely has it (it may still be heartbeating at
      // the old pace): until then, the one it had.
      told.earlier = current.pace.timeoutMs < timeoutMs ? { timeoutMs, until: now + timeoutMs } : undefined;
      told.pace = current.pace;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
