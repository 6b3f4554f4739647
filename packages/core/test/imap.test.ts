/**
 * `cluster.imap`: results in order or as completed, items pulled only as workers have room
 * (an endless generator consumed in part, then `break`), async inputs, a worker lost
 * mid-stream (each result exactly once), a failing item, and abort.
 */
import { describe, expect, it } from 'vitest';
import { LocalManager, RemoteError } from '../src/index.js';
import { testCluster, waitFor } from './helpers.js';

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterator) out.push(value);
  return out;
}

describe('imap', () => {
  it('yields every result in input order, from a generator of unknown length', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    function* numbers() {
      for (let i = 0; i < 5_000; i++) yield i;
    }
    const results = await collect(cluster.imap((x: number) => x * 3, numbers()));
    expect(results).toEqual(Array.from({ length: 5_000 }, (_, i) => i * 3));
  }, 60_000);

  it('ordered: false yields as items complete: a slow first item comes last', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const results = await collect(
      cluster.imap(
        async (ms: number) => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return ms;
        },
        [1_000, 1, 2, 3, 4, 5],
        { ordered: false, batchSize: 1 },
      ),
    );
    expect([...results].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 1_000]);
    expect(results.at(-1)).toBe(1_000);
  }, 60_000);

  it('an endless generator consumed in part, then break: no further items pulled, workers freed', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    let pulled = 0;
    let closed = false;
    function* endless() {
      try {
        for (;;) yield pulled++;
      } finally {
        closed = true;
      }
    }
    const maxPending = 64;
    const seen: number[] = [];
    for await (const value of cluster.imap((x: number) => x + 1, endless(), { maxPending })) {
      seen.push(value);
      // The bound holds while the map runs: taken and not yet handed over is at most maxPending.
      expect(pulled - seen.length).toBeLessThanOrEqual(maxPending);
      if (seen.length === 1_000) break;
    }
    expect(seen).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(closed).toBe(true);
    const after = pulled;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pulled).toBe(after);
    // Nothing of the abandoned map is still running on the workers.
    await waitFor(() => cluster.snapshot().workers.every((w) => w.callsInFlight === 0), 5_000, 'calls in flight to end');
    expect(await cluster.pmap((x: number) => x, [1, 2, 3])).toEqual([1, 2, 3]);
  }, 60_000);

  it('an async iterable as input', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    async function* produced() {
      for (let i = 0; i < 300; i++) {
        if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        yield i;
      }
    }
    expect(await collect(cluster.imap((x: number) => -x, produced(), { maxPending: 32 }))).toEqual(Array.from({ length: 300 }, (_, i) => -i));
  }, 60_000);

  it('a worker lost mid-stream: every result exactly once, in order', async () => {
    const cluster = testCluster({ heartbeat: { intervalMs: 100, timeoutMs: 1_000 } });
    const [victim] = await cluster.addprocs(new LocalManager(3));
    const pid = cluster.worker(victim!).pid;
    function* numbers() {
      for (let i = 0; i < 3_000; i++) yield i;
    }
    const results: Array<{ x: number }> = [];
    for await (const value of cluster.imap(
      async (x: number) => {
        await new Promise((resolve) => setTimeout(resolve, 0));
        return { x };
      },
      numbers(),
      { maxPending: 256 },
    )) {
      results.push(value);
      if (results.length === 200) process.kill(pid, 'SIGKILL');
    }
    expect(results.map((r) => r.x)).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
    expect(cluster.workers()).not.toContain(victim);
  }, 60_000);

  it('an item that throws: results before it that arrived, then its RemoteError; the input is closed', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    let closed = false;
    function* numbers() {
      try {
        for (let i = 0; i < 1_000_000; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const seen: number[] = [];
    const iterate = async () => {
      for await (const value of cluster.imap(
        (x: number) => {
          if (x === 500) throw new Error(`bad item ${x}`);
          return x;
        },
        numbers(),
        { maxPending: 128 },
      ))
        seen.push(value);
    };
    const error = await iterate().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toContain('bad item 500');
    // Results before it that had arrived, in order; those still in flight when it failed are cancelled.
    expect(seen.length).toBeLessThanOrEqual(500);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
    expect(closed).toBe(true);
  }, 60_000);

  it('an abort signal ends the iteration with its reason', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const controller = new AbortController();
    function* endless() {
      for (let i = 0; ; i++) yield i;
    }
    let count = 0;
    const iterate = async () => {
      for await (const _ of cluster.imap((x: number) => x, endless(), { signal: controller.signal, maxPending: 64 })) {
        if (++count === 100) controller.abort(new Error('enough'));
      }
    };
    await expect(iterate()).rejects.toThrow('enough');
    expect(count).toBeGreaterThanOrEqual(100);
  }, 60_000);

  it('refuses an input that is not iterable, and unknown options', () => {
    const cluster = testCluster();
    expect(() => cluster.imap((x: number) => x, 42 as unknown as number[])).toThrow(/iterable/);
    expect(() => cluster.imap((x: number) => x, [1], { progress: true } as never)).toThrow(/progress/);
  });
});
