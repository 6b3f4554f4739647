import { describe, expect, it } from 'vitest';
import { heartbeatPace } from './liveness.js';

const defaults = { intervalMs: 5_000, timeoutMs: 30_000, maxPerSecond: 1_000 };

describe('heartbeat pace by cluster size', () => {
  it('keeps the configured interval and timeout up to maxPerSecond × intervalMs workers', () => {
    for (const workers of [0, 1, 100, 5_000]) expect(heartbeatPace(workers, defaults)).toEqual({ heartbeatMs: 5_000, timeoutMs: 30_000 });
  });

  it('beyond, multiplies both by the smallest whole factor that keeps heartbeats within maxPerSecond', () => {
    expect(heartbeatPace(5_001, defaults)).toEqual({ heartbeatMs: 10_000, timeoutMs: 60_000 });
    expect(heartbeatPace(19_900, defaults)).toEqual({ heartbeatMs: 20_000, timeoutMs: 120_000 });
    expect(heartbeatPace(100_000, defaults)).toEqual({ heartbeatMs: 100_000, timeoutMs: 600_000 });
    for (const workers of [1, 4_999, 5_001, 12_345, 19_900, 60_001]) {
      const { heartbeatMs } = heartbeatPace(workers, defaults);
      expect(workers / (heartbeatMs / 1000)).toBeLessThanOrEqual(defaults.maxPerSecond);
      // …and no slower than needed: one factor less would exceed it (or is the configured pace).
      if (heartbeatMs > defaults.intervalMs) expect(workers / ((heartbeatMs - defaults.intervalMs) / 1000)).toBeGreaterThan(defaults.maxPerSecond);
    }
  });

  it('follows maxPerSecond', () => {
    expect(heartbeatPace(19_900, { ...defaults, maxPerSecond: 4_000 })).toEqual({ heartbeatMs: 5_000, timeoutMs: 30_000 });
    expect(heartbeatPace(3, { intervalMs: 100, timeoutMs: 800, maxPerSecond: 10 })).toEqual({ heartbeatMs: 300, timeoutMs: 2_400 });
  });

  it('never grows a timeout past what a timer can hold (2^31 - 1 ms)', () => {
    const pace = heartbeatPace(1e9, { ...defaults, maxPerSecond: 1 });
    expect(pace.timeoutMs).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(pace.timeoutMs).toBeGreaterThan(pace.heartbeatMs);
  });
});
