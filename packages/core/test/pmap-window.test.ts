/**
 * pmap with `batchSize: 1` keeps a window of up to 64 single-item calls in flight per worker:
 * results stay exactly once and in order when a worker is lost with a full window, and a
 * poison item is still found out (a suspect runs alone on its worker, so the innocent items
 * that were in flight beside it are not taken for it).
 */
import { describe, expect, it } from 'vitest';
import { LocalManager, WorkerLostError } from '../src/index.js';
import { testCluster } from './helpers.js';

describe('pmap, batchSize 1, with a window of calls in flight', () => {
  it('20,000 tiny items, a worker killed mid-map: every result exactly once, in order', async () => {
    const cluster = testCluster();
    const [victim] = await cluster.addprocs(new LocalManager(3));
    const items = Array.from({ length: 20_000 }, (_, i) => i);
    let killed = false;
    cluster.on('pmap-progress', ({ done }) => {
      if (!killed && done >= 2_000) {
        killed = true;
        process.kill(cluster.worker(victim!).pid, 'SIGKILL');
      }
    });
    const results = await cluster.pmap((x: number) => ({ x }), items, { batchSize: 1 });
    expect(killed).toBe(true);
    expect(results.map((r) => r.x)).toEqual(items);
    expect(cluster.workers()).not.toContain(victim);
  }, 60_000);

  it('a poison item among tiny ones is named as the likely cause, and the last worker survives', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(3));
    const items = Array.from({ length: 5_000 }, (_, i) => i);
    const error = await cluster
      .pmap(
        (i: number) => {
          if (i === 3_137) process.exit(9);
          return i;
        },
        items,
        { batchSize: 1 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect((error as Error).message).toMatch(/pmap item 3137 was running alone on 2 workers that were lost, so it is the likely cause/);
    expect(cluster.workers()).toHaveLength(1);
    expect(await cluster.pmap((x: number) => x + 1, [1, 2, 3], { batchSize: 1 })).toEqual([2, 3, 4]);
  }, 60_000);
});
