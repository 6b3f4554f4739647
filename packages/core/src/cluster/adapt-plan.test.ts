// The rules of one adaptive decision, each on its own: queued workers count as coming, growth is
// one launch within maximum and the rate bound, going down waits out the idle timeout, a busy
// worker is never retired, a worker near its walltime is replaced while work remains.
import { describe, expect, it } from 'vitest';
import { type PlanInput, type PlanWorker, plan } from './adapt-plan.js';

const now = 1_000_000;
const idle = (id: number, idleForMs: number): PlanWorker => ({ id, inFlight: 0, idleSince: now - idleForMs, ending: false });
const busy = (id: number): PlanWorker => ({ id, inFlight: 1, idleSince: now - 10 * 60_000, ending: false });
const input = (over: Partial<PlanInput>): PlanInput => ({
  now,
  demand: 0,
  minimum: 0,
  maximum: 4,
  itemsPerWorker: 1,
  idleTimeoutMs: 1_000,
  workers: [],
  pending: 0,
  excessSince: undefined,
  launchesLastMinute: 0,
  maxLaunchesPerMinute: 6,
  paused: false,
  ...over,
});

describe('plan', () => {
  it('grows in one launch up to maximum, counting queued workers as coming', () => {
    expect(plan(input({ demand: 10 })).launch).toBe(4);
    expect(plan(input({ demand: 10, workers: [busy(2)], pending: 2 })).launch).toBe(1);
    expect(plan(input({ demand: 3, workers: [busy(2)], pending: 2 })).launch).toBe(0);
  });

  it('holds growth at the rate bound and while paused', () => {
    expect(plan(input({ demand: 10, launchesLastMinute: 6 }))).toMatchObject({ launch: 0, rateLimited: true });
    expect(plan(input({ demand: 10, paused: true })).launch).toBe(0);
  });

  it('keeps the minimum with no work', () => {
    expect(plan(input({ minimum: 2 }))).toMatchObject({ launch: 2, reason: 'minimum' });
  });

  it('cancels queued workers only after demand stayed low for the idle timeout', () => {
    const first = plan(input({ demand: 0, pending: 3 }));
    expect(first).toMatchObject({ cancel: 0, excessSince: now });
    expect(plan(input({ demand: 0, pending: 3, excessSince: now - 999 })).cancel).toBe(0);
    expect(plan(input({ demand: 1, pending: 3, excessSince: now - 1_000 })).cancel).toBe(2);
    // Demand back up: the stretch of excess ends, and the clock starts again next time.
    expect(plan(input({ demand: 3, pending: 3, excessSince: now - 5_000 })).excessSince).toBeUndefined();
  });

  it('retires only workers idle for the idle timeout, never a busy one, never below minimum', () => {
    const workers = [busy(2), idle(3, 5_000), idle(4, 500), idle(5, 2_000)];
    expect(plan(input({ workers })).retire.map((r) => r.id)).toEqual([3, 5]);
    expect(plan(input({ workers, minimum: 3 })).retire.map((r) => r.id)).toEqual([3]);
    expect(plan(input({ workers: [busy(2), busy(3)] })).retire).toEqual([]);
  });

  it('replaces a worker near its walltime while work remains, and retires it once idle', () => {
    const ending = { ...busy(2), ending: true };
    expect(plan(input({ demand: 1, workers: [ending] }))).toMatchObject({ launch: 1, reason: 'walltime', retire: [] });
    const idleEnding = { ...idle(2, 10), ending: true };
    expect(plan(input({ demand: 1, workers: [idleEnding], pending: 1 })).retire).toEqual([{ id: 2, reason: 'walltime', idleMs: 10 }]);
  });
});
