/**
 * Issue 8, defects 4 and 8 (pmap): automatic batches must respect `maxFrameBytes` for calls
 * and for results, and a poison item that kills its worker must not take the whole cluster.
 */
import { describe, expect, it } from 'vitest';
import { LocalManager, WorkerLostError } from '../../src/index.js';
import { testCluster } from '../helpers.js';

const MiB = 1024 * 1024;

describe('pmap within maxFrameBytes (issue 8, defect 4)', () => {
  it('2,000 items of 10 KB with a 1 MiB frame limit: the batches are split, every result comes back', async () => {
    const cluster = testCluster({ maxFrameBytes: MiB });
    await cluster.addprocs(new LocalManager(2));
    const items = Array.from({ length: 2_000 }, (_, i) => new Uint8Array(10_000).fill(i % 251));
    const sums = await cluster.pmap((bytes: Uint8Array) => bytes.reduce((a, b) => a + b, 0), items);
    expect(sums).toEqual(items.map((_, i) => (i % 251) * 10_000));
  });

  it('results of 10 KB per item with a 1 MiB limit: batches of results are split too (auto and a fixed batchSize)', async () => {
    const cluster = testCluster({ maxFrameBytes: MiB });
    await cluster.addprocs(new LocalManager(2));
    const items = Array.from({ length: 2_000 }, (_, i) => i);
    for (const batchSize of ['auto', 500] as const) {
      const results = await cluster.pmap((i: number) => new Uint8Array(10_000).fill(i % 251), items, { batchSize });
      expect(results).toHaveLength(2_000);
      expect(results.every((bytes, i) => bytes.length === 10_000 && bytes[0] === i % 251 && bytes[9_999] === i % 251)).toBe(true);
    }
  });

  it('one item larger than the limit still fails, naming the limit', async () => {
    const cluster = testCluster({ maxFrameBytes: MiB });
    await cluster.addprocs(new LocalManager(1));
    await expect(cluster.pmap((b: Uint8Array) => b.length, [new Uint8Array(10), new Uint8Array(2 * MiB)])).rejects.toThrow(/over the limit of 1048576 bytes/);
  });
});

describe('a poison item (issue 8, defect 8; docs/decisions.md "Two retry budgets")', () => {
  it('an item that kills every worker it runs on takes at most all but one worker of a 3-worker cluster', async () => {
    const cluster = testCluster();
    const ids = await cluster.addprocs(new LocalManager(3));
    const lost: number[] = [];
    cluster.on('worker-lost', (w) => lost.push(w.id));
    const items = Array.from({ length: 200 }, (_, i) => i);
    const error = await cluster
      .pmap(async (i: number) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i === 137) process.exit(9);
        return i;
      }, items)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect((error as Error).message).toMatch(/pmap item 137 was running alone on 2 workers that were lost, so it is the likely cause/);
    expect(lost).toHaveLength(2);
    expect(cluster.workers()).toHaveLength(1);
    expect(ids).toContain(cluster.workers()[0]);
    // The survivor still serves.
    expect(await cluster.pmap((x: number) => x * 2, [1, 2, 3])).toEqual([2, 4, 6]);
  });

  it('a worker lost to an infrastructure fault mid-map: its items are retried on the others, each result exactly once', async () => {
    const cluster = testCluster();
    const [victim] = await cluster.addprocs(new LocalManager(3));
    const items = Array.from({ length: 3_000 }, (_, i) => i);
    const mapping = cluster.pmap(async (i: number) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      return i * 3;
    }, items);
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(cluster.worker(victim!).pid, 'SIGKILL');
    expect(await mapping).toEqual(items.map((i) => i * 3));
  });
});
