// The adaptive pool on local workers: it grows for a map started with no workers, runs every
// item exactly once, shrinks to the minimum after the idle timeout, sends nothing to a worker
// it retired, and never retires a busy one when work arrives during a scale-down.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type AdaptHandle, LocalManager, UsageError, moduleFunction } from '../src/index.js';
import { testCluster, waitFor } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-adapt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const work = moduleFunction<[{ item: number; ms: number; log: string }], { item: number; pid: number }>(new URL('./fixtures/adapt-work.mjs', import.meta.url).href, 'work');
const sleepFor = moduleFunction<[number], number>(new URL('./fixtures/adapt-work.mjs', import.meta.url).href, 'sleepFor');
let logs = 0;
const newLog = () => path.join(dir, `items-${++logs}.log`);
/** How many times each item started, from the workers' own record. */
const starts = (log: string): Map<number, number> => {
  const counts = new Map<number, number>();
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  return counts;
};

/** Every event of a pool, and the largest pool it had. */
function record(pool: AdaptHandle, cluster: { nworkers(): number }) {
  const events: { kind: string; reason?: string; launched?: number; workerId?: number }[] = [];
  let peak = 0;
  pool.on('scale-up', (e) => {
    events.push({ kind: 'scale-up', reason: e.reason, launched: e.launched });
    peak = Math.max(peak, e.workers + e.pending);
  });
  pool.on('retire', (e) => events.push({ kind: 'retire', reason: e.reason, workerId: e.workerId }));
  pool.on('scale-down', (e) => events.push({ kind: 'scale-down', reason: e.reason }));
  pool.on('paused', (e) => events.push({ kind: 'paused', reason: e.reason }));
  return { events, peak: () => Math.max(peak, cluster.nworkers()) };
}

describe('cluster.adapt on local workers', () => {
  it('grows to maximum for an uneven map started with no workers, runs each item once, and shrinks to 0 after the idle timeout', async () => {
    const cluster = testCluster();
    await using pool = cluster.adapt(new LocalManager(1), { minimum: 0, maximum: 4, idleTimeoutMs: 300, intervalMs: 100 });
    const seen = record(pool, cluster);
    const log = newLog();
    const items = Array.from({ length: 24 }, (_, item) => ({ item, ms: item % 4 === 0 ? 1_000 : 10, log }));
    const results = await cluster.pmap(work, items);
    expect(results.map((r) => r.item)).toEqual(items.map((i) => i.item));
    expect([...starts(log).values()].every((n) => n === 1)).toBe(true);
    expect(starts(log).size).toBe(items.length);
    expect(seen.peak()).toBe(4);
    await waitFor(() => cluster.nworkers() === 0, 20_000, 'the pool to shrink to 0');
    const ups = seen.events.filter((e) => e.kind === 'scale-up');
    // One launch per decision: at most one per scale-up event, never more workers than maximum.
    expect(pool.launches).toBe(ups.length);
    expect(ups.reduce((sum, e) => sum + e.launched!, 0)).toBeLessThanOrEqual(4 + seen.events.filter((e) => e.kind === 'retire').length);
    expect(seen.events.filter((e) => e.kind === 'retire').every((e) => e.reason === 'idle')).toBe(true);
  });

  it('shows in the snapshot: bounds and figures while it runs, its decisions as events, and stopped after stop()', async () => {
    const cluster = testCluster();
    const pool = cluster.adapt(new LocalManager(1), { minimum: 1, maximum: 2, idleTimeoutMs: 200, intervalMs: 50 });
    await waitFor(() => cluster.nworkers() === 1 && pool.state().pending === 0, 20_000, 'the minimum of 1 worker');
    const running = cluster.snapshot().pools;
    expect(running).toHaveLength(1);
    expect(running[0]).toMatchObject({ id: 1, manager: 'local', minimum: 1, maximum: 2, workers: 1, pending: 0, target: 1, paused: null, stopped: false, launches: 1, retired: 0 });
    await pool.stop();
    const after = cluster.snapshot();
    expect(after.pools[0]).toMatchObject({ id: 1, stopped: true, launches: 1 });
    const poolEvents = after.events.filter((e) => e.kind.startsWith('pool-')).map((e) => `${e.kind}: ${e.text}`);
    expect(poolEvents[0]).toMatch(/^pool-scale-up: pool 1 \(local\): launched 1 worker \(minimum; demand 0, 0 workers, 1 pending, target 1\)$/);
    expect(poolEvents.at(-1)).toBe('pool-stopped: pool 1 (local): stopped');
  });

  it('keeps the minimum with no work, and retires down to it, never below', async () => {
    const cluster = testCluster();
    await using pool = cluster.adapt(new LocalManager(1), { minimum: 1, maximum: 3, idleTimeoutMs: 200, intervalMs: 50 });
    await waitFor(() => cluster.nworkers() === 1, 20_000, 'the minimum of 1 worker');
    await cluster.pmap(sleepFor, [300, 300, 300, 300, 300, 300]);
    await waitFor(() => cluster.nworkers() === 1 && pool.retired > 0 && pool.state().pending === 0, 20_000, 'the pool to shrink back to 1');
    // Several idle timeouts later it is still 1.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(cluster.nworkers()).toBe(1);
    expect(pool.state()).toMatchObject({ workers: 1, pending: 0, demand: 0 });
  });

  it('sends nothing to a worker it retired: a call made as it retires goes to another worker', async () => {
    const cluster = testCluster();
    await using pool = cluster.adapt(new LocalManager(1), { minimum: 1, maximum: 2, idleTimeoutMs: 200, intervalMs: 50 });
    await cluster.pmap(sleepFor, [400, 400, 400, 400]);
    const retired = new Promise<{ retiredId: number; ranOn: number; remaining: number[]; done: Promise<number> }>((resolve, reject) => {
      pool.once('retire', ({ workerId }) => {
        try {
          // In the same turn as the retirement: the least busy worker must not be the retired one.
          const future = cluster.spawnAt('any', sleepFor, 10);
          resolve({ retiredId: workerId, ranOn: future.workerId, remaining: cluster.workers(), done: future.fetch() });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    const { retiredId, ranOn, remaining, done } = await retired;
    expect(await done).toBeGreaterThan(0);
    expect(remaining).not.toContain(retiredId);
    expect(ranOn).not.toBe(retiredId);
    expect(remaining).toContain(ranOn);
  });

  it('never retires a busy worker when bursts of work arrive during scale-down', async () => {
    const cluster = testCluster();
    const lost: number[] = [];
    cluster.on('worker-lost', (w) => lost.push(w.id));
    await using pool = cluster.adapt(new LocalManager(1), { minimum: 0, maximum: 3, idleTimeoutMs: 150, intervalMs: 20 });
    const seen = record(pool, cluster);
    const log = newLog();
    let next = 0;
    // Gaps around the idle timeout, so retirements and new bursts meet.
    for (const gapMs of [100, 160, 140, 220, 120, 180, 150, 300]) {
      const items = Array.from({ length: 6 }, () => ({ item: next++, ms: 40, log }));
      const results = await cluster.pmap(work, items);
      expect(results.map((r) => r.item)).toEqual(items.map((i) => i.item));
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const counts = starts(log);
    expect(counts.size).toBe(next);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    await waitFor(() => cluster.nworkers() === 0 && pool.state().pending === 0, 20_000, 'the pool to shrink to 0');
    expect(lost).toEqual([]);
    expect(seen.events.some((e) => e.kind === 'retire')).toBe(true);
  });

  it('grows for an imap started with no workers, and its results all come', async () => {
    const cluster = testCluster();
    await using pool = cluster.adapt(new LocalManager(1), { minimum: 0, maximum: 2, idleTimeoutMs: 60_000, intervalMs: 50 });
    async function* input() {
      for (let i = 0; i < 6; i++) yield 50;
    }
    const results: number[] = [];
    for await (const pid of cluster.imap(sleepFor, input())) results.push(pid);
    expect(results).toHaveLength(6);
    expect(pool.launches).toBeGreaterThanOrEqual(1);
  });

  it('shows a progress line with the figures when asked', async () => {
    const cluster = testCluster();
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await using pool = cluster.adapt(new LocalManager(1), { minimum: 0, maximum: 2, idleTimeoutMs: 60_000, intervalMs: 50, progress: 'plain' });
      await cluster.pmap(sleepFor, [100, 100, 100]);
      await waitFor(() => cluster.nworkers() === 2 && pool.state().pending === 0, 20_000, 'both workers to join');
      // A few decisions later, the line shows them.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await pool.stop();
    } finally {
      spy.mockRestore();
    }
    const progress = lines.filter((line) => line.startsWith('adapt local:'));
    expect(progress.some((line) => /^adapt local: 0 workers, 2 pending; demand 3, target 2\n$/.test(line))).toBe(true);
    expect(progress.some((line) => /^adapt local: 2 workers; demand 0, target 0\n$/.test(line))).toBe(true);
  });

  it('refuses a manager it cannot size and options that do not fit, before starting anything', () => {
    const cluster = testCluster();
    const fixed = { name: 'fixed', expectedWorkers: 1, launch: async () => {} };
    expect(() => cluster.adapt(fixed)).toThrow(/cannot be adapted: it has no withWorkers/);
    expect(() => cluster.adapt(new LocalManager(1), { minimum: 3, maximum: 2 })).toThrow(UsageError);
    expect(() => cluster.adapt(new LocalManager(1), { idleTimeout: 5 } as never)).toThrow(/idleTimeoutMs/);
    expect(cluster.nworkers()).toBe(0);
  });
});
