// cluster.adapt through the real single-node Grid Engine of tooling/schedulers/gridengine.sh
// (gated by gridEngineIsUp(): skipped locally when it is not up, failing under CI=true). What the
// pool submitted is counted from Grid Engine's side: the jobs `qstat -u '*'` showed under our
// job name while the test ran (one array per scale-up decision), and none left at the end.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { moduleFunction } from '@cm/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SGEManager } from '../src/index.js';
import { allJobs, clusters, deleteNamed, leftover } from './helpers.js';
import { gridEngineIsUp } from './sge-gate.js';

const up = gridEngineIsUp();
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-sge-adapt-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));
const work = moduleFunction<[{ item: number; ms: number; log: string }], { item: number; pid: number }>(new URL('./fixtures/adapt-work.mjs', import.meta.url).href, 'work');
const jobName = `cmadapt${process.pid}`;

describe.skipIf(!up)('cluster.adapt through Grid Engine (real)', () => {
  const open = clusters();
  afterEach(async () => {
    await open.closeAll();
    await deleteNamed([jobName]);
  });

  it('adapt({ minimum: 0, maximum: 4 }) grows to 4 for uneven items, runs each once, shrinks to 0; one qsub per scale-up', async () => {
    const c = open.open();
    const manager = new SGEManager(1, { walltime: '00:10:00', pe: 'smp', jobName, logDir, progress: 'none' });
    // Grid Engine's own list, sampled while the test runs (bounded: the sampler stops with the test).
    const seenJobs = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const job of await allJobs().catch(() => [])) if (job.name === jobName) seenJobs.add(job.id);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    try {
      await using pool = c.adapt(manager, { minimum: 0, maximum: 4, idleTimeoutMs: 1_000, intervalMs: 200 });
      let ups = 0;
      /** Each cancel of queued workers, with whether what was left still covered the target (the work that remained). */
      const scaleDowns: { at: number; covered: boolean }[] = [];
      pool.on('scale-up', () => ups++);
      pool.on('scale-down', (e) => scaleDowns.push({ at: Date.now(), covered: e.workers + e.pending >= e.target }));
      let asked = 0;
      pool.on('scale-up', (e) => (asked = Math.max(asked, e.workers + e.pending)));
      const log = path.join(logDir, 'items.log');
      const items = Array.from({ length: 16 }, (_, item) => ({ item, ms: item % 4 === 0 ? 1_000 : 10, log }));
      const results = await c.pmap(work, items);
      const mapEnded = Date.now();
      expect(results.map((r) => r.item)).toEqual(items.map((i) => i.item));
      expect(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number)
          .sort((a, b) => a - b),
      ).toEqual(items.map((i) => i.item));
      expect(asked).toBe(4);
      const deadline = Date.now() + 60_000;
      while (c.nworkers() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(c.nworkers()).toBe(0);
      expect(await leftover({ name: jobName }, 30_000)).toEqual([]);
      sampling = false;
      await sampler;
      // Every job the pool submitted was seen in the queue (each array lives for seconds at least), and no more.
      expect(seenJobs.size).toBe(ups);
      expect(pool.launches).toBe(ups);
      expect(scaleDowns.every((d) => d.covered || d.at >= mapEnded)).toBe(true);
    } finally {
      sampling = false;
      await sampler;
    }
  });
});
