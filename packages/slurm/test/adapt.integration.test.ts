// cluster.adapt through the real single-node Slurm of tooling/schedulers/slurm.sh (gated by
// slurmIsUp(): skipped locally when Slurm is not up, failing under CI=true). What the pool did is
// counted from Slurm's side (`scontrol -o show job`, which keeps finished jobs for MinJobAge):
// one job array per scale-up decision, and no array task cancelled unstarted while work remained.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, moduleFunction } from '@cm/core';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SlurmManager } from '../src/index.js';
import { slurmIsUp } from './slurm-gate.js';

const up = slurmIsUp();
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-slurm-adapt-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const work = moduleFunction<[{ item: number; ms: number; log: string }], { item: number; pid: number }>(new URL('./fixtures/adapt-work.mjs', import.meta.url).href, 'work');
const jobName = `cmadapt${process.pid}`;
const heldName = `cmadapth${process.pid}`;

/** Slurm's records of our jobs: one per array task (or unsplit pending remainder). */
async function slurmRecords(name = jobName): Promise<{ arrayJob: string; task: string; state: string; started: boolean }[]> {
  const { stdout } = await execa('scontrol', ['-o', 'show', 'job'], { reject: false });
  return stdout
    .split('\n')
    .filter((line) => line.includes(` JobName=${name} `))
    .map((line) => {
      const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
      return {
        arrayJob: field('ArrayJobId') || field('JobId'),
        task: field('ArrayTaskId'),
        state: field('JobState'),
        started: !['Unknown', 'None', ''].includes(field('StartTime')) && field('RunTime') !== '00:00:00',
      };
    });
}

describe.skipIf(!up)('cluster.adapt through Slurm (real)', () => {
  const open: Cluster[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await execa('scancel', ['--name', jobName], { reject: false });
    await execa('scancel', ['--name', heldName], { reject: false });
  });

  it('adapt({ minimum: 0, maximum: 4 }) grows to 4 for uneven items, runs each once, shrinks to 0; one sbatch per scale-up', async () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {} });
    open.push(c);
    const manager = new SlurmManager(1, { partition: 'debug', time: '00:10:00', layout: 'array', jobName, logDir, progress: 'none' });
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
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`the pool did not shrink to 0 (still ${c.nworkers()})`)), 60_000);
      const check = setInterval(() => {
        if (c.nworkers() > 0) return;
        clearInterval(check);
        clearTimeout(deadline);
        resolve();
      }, 100);
    });
    const records = await slurmRecords();
    // Slurm's side: as many job arrays as scale-up decisions, and nothing cancelled unstarted before the work was done.
    expect(new Set(records.map((r) => r.arrayJob)).size).toBe(ups);
    expect(pool.launches).toBe(ups);
    const cancelledUnstarted = records.filter((r) => r.state === 'CANCELLED' && !r.started);
    if (cancelledUnstarted.length > 0) expect(scaleDowns.every((d) => d.covered || d.at >= mapEnded)).toBe(true);
  });

  it('cancels queued array tasks the work no longer needs, before they start (held jobs never start)', async () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {} });
    open.push(c);
    const manager = new SlurmManager(1, { partition: 'debug', time: '00:10:00', layout: 'array', hold: '', jobName: heldName, logDir, progress: 'none' });
    await using pool = c.adapt(manager, { minimum: 0, maximum: 3, idleTimeoutMs: 500, intervalMs: 100 });
    let cancelled = 0;
    pool.on('scale-down', (e) => (cancelled += e.cancelled));
    const scaledUp = new Promise<void>((resolve) => pool.once('scale-up', () => resolve()));
    const controller = new AbortController();
    const map = c
      .pmap(
        work,
        [1, 2, 3, 4].map((item) => ({ item, ms: 10, log: path.join(logDir, 'never.log') })),
        { signal: controller.signal },
      )
      .catch((error: unknown) => error);
    await scaledUp;
    controller.abort(new Error('the work went away'));
    await map;
    const deadline = Date.now() + 60_000;
    while ((cancelled < 3 || pool.state().pending > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cancelled).toBe(3);
    expect(pool.state().pending).toBe(0);
    // Slurm's side: the one array's tasks all CANCELLED, none started.
    const deadlineRecords = Date.now() + 30_000;
    let records = await slurmRecords(heldName);
    while (records.some((r) => r.state !== 'CANCELLED') && Date.now() < deadlineRecords) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      records = await slurmRecords(heldName);
    }
    expect(new Set(records.map((r) => r.arrayJob)).size).toBe(1);
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.state === 'CANCELLED' && !r.started)).toBe(true);
  });
});
