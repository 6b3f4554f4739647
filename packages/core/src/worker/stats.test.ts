/**
 * A worker's CPU and memory figures: what it measures, and how they cross the wire on a Heartbeat.
 * @module
 */
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_STATS_BYTES, decodeHeartbeatStats, encodeHeartbeatStats } from '../protocol/messages.js';
import { ProcessStats } from './stats.js';

describe('heartbeat stats', () => {
  it('round-trip CPU to a hundredth of a percent and RSS to a KiB', () => {
    const body = encodeHeartbeatStats({ cpuPercent: 153.456, rssBytes: 73_400_320 + 100 });
    expect(body.length).toBe(HEARTBEAT_STATS_BYTES);
    expect(decodeHeartbeatStats(body)).toEqual({ cpuPercent: 153.46, rssBytes: 73_400_320 });
  });

  it('an empty Heartbeat (an older worker) has no stats, and reserved bytes after the first 8 are ignored', () => {
    expect(decodeHeartbeatStats(Buffer.alloc(0))).toBeUndefined();
    const longer = Buffer.concat([encodeHeartbeatStats({ cpuPercent: 12.5, rssBytes: 2048 }), Buffer.from([1, 2, 3])]);
    expect(decodeHeartbeatStats(longer)).toEqual({ cpuPercent: 12.5, rssBytes: 2048 });
  });

  it('clamps what does not fit in 32 bits instead of wrapping', () => {
    expect(decodeHeartbeatStats(encodeHeartbeatStats({ cpuPercent: -1, rssBytes: 2 ** 60 }))).toEqual({ cpuPercent: 0, rssBytes: 0xffff_ffff * 1024 });
  });
});

describe('ProcessStats', () => {
  it('reports the CPU a busy loop used since the previous sample, and the resident set size', () => {
    const stats = new ProcessStats();
    stats.sample();
    const until = performance.now() + 60;
    let spins = 0;
    while (performance.now() < until) spins++;
    const { cpuPercent, rssBytes } = stats.sample();
    expect(spins).toBeGreaterThan(0);
    // A busy loop on one thread: well above idle, and not more than a few cores' worth.
    expect(cpuPercent).toBeGreaterThan(30);
    expect(cpuPercent).toBeLessThan(400);
    expect(rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });
});
