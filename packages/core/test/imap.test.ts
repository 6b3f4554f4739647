/**
 * `cluster.imap`: results in order or as completed, items pulled only as workers have room
 * (an endless generator consumed in part, then `break`), async inputs, a worker lost
 * mid-stream (each result exactly once), a failing item, inputs that throw, retries that
 * must carry their own items, `next()` called again before an answer, and abort.
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

  it('a sync input that throws: results before it in order, then its own error', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const failure = new Error('the input broke');
    let pulled = 0;
    const input: Iterable<number> = {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<number> => {
          if (pulled === 300) throw failure;
          return { done: false, value: pulled++ };
        },
      }),
    };
    const seen: number[] = [];
    const iterate = async () => {
      for await (const value of cluster.imap((x: number) => x * 2, input, { maxPending: 64 })) seen.push(value);
    };
    const error = await iterate().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBe(failure);
    expect(pulled).toBe(300);
    expect(seen.length).toBeLessThanOrEqual(300);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i * 2));
  }, 60_000);

  it('an async input that throws a non-Error ends the iteration with an error naming it', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    async function* produced() {
      for (let i = 0; i < 50; i++) yield i;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a careless input does
      throw 'out of lines';
    }
    await expect(collect(cluster.imap((x: number) => x, produced()))).rejects.toThrow(/the input threw .*out of lines/);
  }, 60_000);

  it('break out of a loop over an async input: the input is closed and nothing more is pulled', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    let pulled = 0;
    let closed = false;
    async function* endless() {
      try {
        for (;;) {
          await new Promise((resolve) => setImmediate(resolve));
          yield pulled++;
        }
      } finally {
        closed = true;
      }
    }
    const seen: number[] = [];
    for await (const value of cluster.imap((x: number) => x, endless(), { maxPending: 16 })) {
      seen.push(value);
      if (seen.length === 100) break;
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await waitFor(() => closed, 5_000, 'the async input to be closed');
    const after = pulled;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pulled).toBe(after);
  }, 60_000);

  it('next() called again before an answer: every call gets its own result, in order, then the end', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const iterator = cluster.imap((x: number) => x + 1, [1, 2, 3, 4, 5]);
    const steps = await Promise.all(Array.from({ length: 7 }, () => iterator.next()));
    expect(steps).toEqual([
      { done: false, value: 2 },
      { done: false, value: 3 },
      { done: false, value: 4 },
      { done: false, value: 5 },
      { done: false, value: 6 },
      { done: true, value: undefined },
      { done: true, value: undefined },
    ]);
  }, 60_000);

  it('items whose function threw are retried within retry.errors, each with its own item, in order and as completed', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    // Every tenth item fails the first time it runs on a worker (per map): at most once per worker, so two retries suffice.
    const flaky = ({ x, map }: { x: number; map: string }) => {
      const g = globalThis as unknown as { failedOnce?: Set<string> };
      g.failedOnce ??= new Set();
      if (x % 10 === 3 && !g.failedOnce.has(`${map} ${x}`)) {
        g.failedOnce.add(`${map} ${x}`);
        throw new Error(`transient ${x}`);
      }
      return x * 2;
    };
    function* items(map: string) {
      for (let x = 0; x < 3_000; x++) yield { x, map };
    }
    const expected = Array.from({ length: 3_000 }, (_, i) => i * 2);
    expect(await collect(cluster.imap(flaky, items('ordered'), { maxPending: 256, retry: { errors: 2 } }))).toEqual(expected);
    const unordered = await collect(cluster.imap(flaky, items('unordered'), { ordered: false, maxPending: 256, retry: { errors: 2 } }));
    expect([...unordered].sort((a, b) => a - b)).toEqual(expected);
    expect(await cluster.pmap(flaky, [...items('pmap')], { retry: { errors: 2 } })).toEqual(expected);
    // Without the retries, the first failure ends the map: the items did fail.
    await expect(collect(cluster.imap(flaky, items('no retry')))).rejects.toThrow(/transient \d*3 /);
  }, 60_000);

  it('ordered, with a bound that is not a power of two and results that arrive out of turn: in order, within the bound', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    let pulled = 0;
    function* numbers() {
      for (let i = 0; i < 600; i++) {
        pulled++;
        yield i;
      }
    }
    const maxPending = 5;
    const seen: number[] = [];
    const slowEveryThird = async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, x % 3 === 0 ? 3 : 0));
      return -x;
    };
    for await (const value of cluster.imap(slowEveryThird, numbers(), { maxPending, batchSize: 1 })) {
      seen.push(value);
      expect(pulled - seen.length).toBeLessThanOrEqual(maxPending);
    }
    expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => -i));
  }, 60_000);

  it('ordered: false over many batches: every result exactly once, within the bound', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    let pulled = 0;
    function* numbers() {
      for (let i = 0; i < 20_000; i++) {
        pulled++;
        yield i;
      }
    }
    const maxPending = 1_000;
    const seen: number[] = [];
    for await (const value of cluster.imap((x: number) => x * 3, numbers(), { ordered: false, maxPending })) {
      seen.push(value);
      expect(pulled - seen.length).toBeLessThanOrEqual(maxPending);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20_000 }, (_, i) => i * 3));
  }, 60_000);

  it('refuses an input that is not iterable, and unknown options', () => {
    const cluster = testCluster();
    expect(() => cluster.imap((x: number) => x, 42 as unknown as number[])).toThrow(/iterable/);
    expect(() => cluster.imap((x: number) => x, [1], { progress: true } as never)).toThrow(/progress/);
  });
});
