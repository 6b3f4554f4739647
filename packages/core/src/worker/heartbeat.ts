/**
 * The worker's side of liveness: a Heartbeat (with its CPU and memory figures) whenever it has
 * sent nothing else for an interval, the master's silence judged against the timeout, and the
 * watchdog thread kept up to date. From protocol 1.4 the master sets the pace on its own
 * Heartbeats (slower as its cluster grows); the loop re-arms itself when the pace changes.
 * @module
 */
import type { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import { type HeartbeatPace, decodeHeartbeatPace } from '../protocol/heartbeat-pace.js';
import { encodeHeartbeatStats } from '../protocol/messages.js';
import { HEARTBEAT_PACE_MIN_MINOR } from '../protocol/version.js';
import { ProcessStats, heartbeatWithStats } from './stats.js';
import type { Watchdog } from './watchdog.js';

export class MasterHeartbeat {
  readonly #conn: FramedConnection;
  readonly #watchdog: Watchdog;
  readonly #stats = new ProcessStats();
  /** The master sets the pace (session 1.4+); before that, the Welcome's holds for good. */
  readonly #paced: boolean;
  #pace: HeartbeatPace;
  #timer: NodeJS.Timeout | undefined;

  constructor(conn: FramedConnection, watchdog: Watchdog, welcome: HeartbeatPace & { version: { minor: number } }) {
    this.#conn = conn;
    this.#watchdog = watchdog;
    this.#paced = welcome.version.minor >= HEARTBEAT_PACE_MIN_MINOR;
    this.#pace = { heartbeatMs: welcome.heartbeatMs, timeoutMs: welcome.timeoutMs };
  }

  /** The pace in force: how often this worker heartbeats, and how long a silent master has. */
  get pace(): HeartbeatPace {
    return this.#pace;
  }

  /** Send the first Heartbeat at once (the master has the worker's figures from the start) and start the loop. */
  start(): void {
    this.#conn.send(FrameType.Heartbeat, encodeHeartbeatStats(this.#stats.sample()));
    this.#watchdog.watch(this.#conn.socket, this.#pace);
    this.#arm();
  }

  /** A Heartbeat from the master: from 1.4 on it may carry a new pace, which holds from now on. */
  received(payload: Buffer): void {
    if (!this.#paced) return;
    const pace = decodeHeartbeatPace(payload);
    if (!pace || (pace.heartbeatMs === this.#pace.heartbeatMs && pace.timeoutMs === this.#pace.timeoutMs)) return;
    this.#pace = pace;
    this.#watchdog.repace(pace);
    this.#arm();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #arm(): void {
    clearInterval(this.#timer);
    const { heartbeatMs, timeoutMs } = this.#pace;
    this.#timer = setInterval(() => {
      const conn = this.#conn;
      this.#watchdog.heard(conn.lastReceivedAt);
      if (Date.now() - conn.lastReceivedAt > timeoutMs) {
        conn.destroy(new Error(`no heartbeat from the master for ${timeoutMs} ms`));
        return;
      }
      heartbeatWithStats(conn, this.#stats, Date.now(), heartbeatMs);
    }, heartbeatMs);
  }
}
