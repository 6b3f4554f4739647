/**
 * A worker's own CPU and memory figures, piggy-backed on the heartbeats it sends anyway (so a
 * busy worker, which sends results instead of heartbeats, costs nothing extra). The master
 * shows them in `cluster.snapshot()`.
 * @module
 */
import type { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import { type HeartbeatStats, encodeHeartbeatStats } from '../protocol/messages.js';

/** CPU use between two samples, from `process.cpuUsage`; memory from `process.memoryUsage.rss` (cheap: no heap walk). */
export class ProcessStats {
  // The first sample covers the time since the process started (performance.now() counts from there).
  #lastCpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  #lastAt = 0;

  sample(): HeartbeatStats {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const usedMicros = cpu.user - this.#lastCpu.user + (cpu.system - this.#lastCpu.system);
    const elapsedMs = now - this.#lastAt;
    this.#lastCpu = cpu;
    this.#lastAt = now;
    return { cpuPercent: elapsedMs > 0 ? usedMicros / 10 / elapsedMs : 0, rssBytes: process.memoryUsage.rss() };
  }
}

/**
 * Send a Heartbeat carrying this worker's stats unless something else went out within
 * `intervalMs` (the same rule as `FramedConnection.heartbeat`: any frame is a sign of life).
 */
export function heartbeatWithStats(conn: FramedConnection, stats: ProcessStats, now: number, intervalMs: number): void {
  if (now - conn.lastSentAt >= intervalMs * 0.9) conn.send(FrameType.Heartbeat, encodeHeartbeatStats(stats.sample()));
}
