// The adaptive pool through a batch scheduler (simq, a real queue of processes on this
// machine), counted from simq's own record of jobs: one submission per scale-up decision, no
// task cancelled before it ran while work remained, queued tasks cancelled when the work is
// gone, items flowing across walltime replacements, and growth stopped by a refused submission.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AdaptHandle, Cluster, moduleFunction } from '../src/index.js';
import { JobQueueManager } from '../src/driver.js';
import { SIMQ_FLAG_NAMES, SimulatedQueueManager, type SimulatedOptions, simulatedDriver, simulatedOptionsSchema } from '../src/testing/index.js';
import { quietLogger, waitFor } from './helpers.js';

const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-adapt-simq-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));
const open: Cluster[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
const cluster = () => {
  const c = new Cluster({ logger: quietLogger(), onOutput: () => {}, host: '127.0.0.1' });
  open.push(c);
  return c;
};
const simq = (options: SimulatedOptions = {}) => new SimulatedQueueManager(1, { logDir, progress: 'none', ...options });
const work = moduleFunction<[{ item: number; ms: number; log: string }], { item: number; pid: number }>(new URL('./fixtures/adapt-work.mjs', import.meta.url).href, 'work');
const sleepFor = moduleFunction<[number], number>(new URL('./fixtures/adapt-work.mjs', import.meta.url).href, 'sleepFor');
let logs = 0;
const newLog = () => path.join(logDir, `items-${++logs}.log`);
const starts = (log: string): number[] => readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number);

/** simq's own record of a job: its array tasks, which were cancelled, which ran (started a process). */
function simqRecord(jobId: string): { cancelled: string[]; ran: string[] } {
  const dir = path.join(process.env.SIMQ_DIR ?? path.join(os.tmpdir(), `cm-simq-${os.userInfo().uid}`), 'jobs', jobId);
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const cancelled = files.filter((f) => f.startsWith('cancelled-')).map((f) => f.slice('cancelled-'.length));
  const ran = files
    .filter((f) => /^task-.*\.json$/.test(f))
    .filter((f) => (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { pid?: number }).pid !== undefined)
    .map((f) => f.slice('task-'.length, -'.json'.length));
  return { cancelled, ran };
}

/** The job ids a pool submitted, from the launches' progress, and the (job, task) of every worker that joined. */
function watchJobs(c: Cluster) {
  const jobs = new Set<string>();
  const joined = new Set<string>();
  c.on('launch-progress', (p) => p.jobIds?.forEach((id) => jobs.add(id)));
  c.on('worker-joined', (w) => joined.add(`${w.jobId}:${w.taskIndex}`));
  return { jobs, joined };
}

function count(pool: AdaptHandle) {
  const events = { ups: 0, downs: 0, cancelled: 0, retires: 0, paused: [] as string[] };
  pool.on('scale-up', () => events.ups++);
  pool.on('scale-down', (e) => {
    events.downs++;
    events.cancelled += e.cancelled;
  });
  pool.on('retire', () => events.retires++);
  pool.on('paused', (e) => events.paused.push(e.message));
  return events;
}

describe('batch managers sized for a pool', () => {
  it('withWorkers keeps the options, hands the walltime lead to the pool, and leaves replacement to it', () => {
    const base = simq({ time: 60, replaceBeforeWalltime: 20_000, queue: 'short' });
    expect(base.walltimeLeadMs).toBe(20_000);
    const sized = base.withWorkers(3);
    expect(sized).toBeInstanceOf(SimulatedQueueManager);
    expect(sized.submittedWorkers).toBe(3);
    expect(sized.walltimeLeadMs).toBeUndefined();
    expect(sized.jobScript()).toContain('--queue=short');
    expect(sized.jobScript()).toContain('--array=0-2');
  });

  it('a subclass whose constructor is not (np, options) is told to override withWorkers', () => {
    class Odd extends JobQueueManager {
      constructor(label: string, np: number) {
        super(np, { logDir, progress: 'none' }, { driver: simulatedDriver, flagSchema: simulatedOptionsSchema, flagNames: SIMQ_FLAG_NAMES, name: label });
      }
    }
    expect(() => new Odd('simq', 1).withWorkers(2)).toThrow(/does not take \(np, options\); override withWorkers\(count\)/);
  });
});

describe('cluster.adapt through simq', () => {
  it('grows to 4 for uneven items, runs each once, shrinks to 0; one submission per scale-up and no task cancelled before it ran', async () => {
    const c = cluster();
    const seen = watchJobs(c);
    await using pool = c.adapt(simq(), { minimum: 0, maximum: 4, idleTimeoutMs: 500, intervalMs: 100 });
    const events = count(pool);
    let asked = 0;
    pool.on('scale-up', (e) => (asked = Math.max(asked, e.workers + e.pending)));
    /** Each cancel of queued workers, with whether what was left still covered the target (the work that remained). */
    const scaleDowns: { at: number; covered: boolean }[] = [];
    pool.on('scale-down', (e) => scaleDowns.push({ at: Date.now(), covered: e.workers + e.pending >= e.target }));
    const log = newLog();
    const items = Array.from({ length: 20 }, (_, item) => ({ item, ms: item % 3 === 0 ? 1_000 : 10, log }));
    const results = await c.pmap(work, items);
    const mapEnded = Date.now();
    expect(results.map((r) => r.item)).toEqual(items.map((i) => i.item));
    expect(starts(log).sort((a, b) => a - b)).toEqual(items.map((i) => i.item));
    await waitFor(() => c.nworkers() === 0 && pool.state().pending === 0, 30_000, 'the pool to shrink to 0');
    expect(asked).toBe(4);
    // From simq's side: one job per scale-up decision, and a task cancelled before its worker
    // joined only once the work was done (on a loaded machine a worker may still be starting then).
    expect(seen.jobs.size).toBe(events.ups);
    expect(pool.launches).toBe(events.ups);
    for (const job of seen.jobs) {
      const record = simqRecord(job);
      for (const task of record.cancelled) {
        if (!seen.joined.has(`${job}:${task}`))
          expect(
            scaleDowns.every((d) => d.covered || d.at >= mapEnded),
            `simq job ${job} task ${task} was cancelled unstarted while work remained`,
          ).toBe(true);
      }
    }
    expect(events.paused).toEqual([]);
  });

  it('cancels queued tasks that the work no longer needs, before they start', async () => {
    const c = cluster();
    const seen = watchJobs(c);
    // Held jobs never start: the pool can only cancel them.
    await using pool = c.adapt(simq({ hold: true }), { minimum: 0, maximum: 3, idleTimeoutMs: 300, intervalMs: 50 });
    const events = count(pool);
    const controller = new AbortController();
    const scaledUp = new Promise<void>((resolve) => pool.once('scale-up', () => resolve()));
    const map = c.pmap(sleepFor, [10, 10, 10, 10], { signal: controller.signal }).catch((error: unknown) => error);
    await scaledUp;
    await waitFor(() => seen.jobs.size === 1, 20_000, 'the job to be submitted');
    expect(pool.state().pending).toBe(3);
    controller.abort(new Error('the work went away'));
    await map;
    await waitFor(() => events.cancelled === 3 && pool.state().pending === 0, 20_000, 'the queued tasks to be cancelled');
    const [job] = [...seen.jobs];
    const record = simqRecord(job!);
    expect(record.cancelled.sort()).toEqual(['0', '1', '2']);
    expect(record.ran).toEqual([]);
    expect(events.ups).toBe(1);
    expect(events.paused).toEqual([]);
  });

  it('replaces workers near their walltime while items flow; none lost or run twice', async () => {
    const c = cluster();
    await using pool = c.adapt(simq({ time: 12 }), { minimum: 0, maximum: 2, idleTimeoutMs: 500, intervalMs: 100, walltimeLeadMs: 7_000 });
    const reasons: string[] = [];
    pool.on('scale-up', (e) => reasons.push(`up:${e.reason}`));
    pool.on('retire', (e) => reasons.push(`retire:${e.reason}`));
    const lost: string[] = [];
    c.on('worker-lost', (w, loss) => lost.push(`${w.id}: ${loss.reason}`));
    const log = newLog();
    const items = Array.from({ length: 200 }, (_, item) => ({ item, ms: 250, log }));
    const results = await c.pmap(work, items, { walltimeMarginMs: 4_000 });
    expect(results.map((r) => r.item)).toEqual(items.map((i) => i.item));
    expect(starts(log).sort((a, b) => a - b)).toEqual(items.map((i) => i.item));
    expect(reasons).toContain('up:walltime');
    expect(reasons).toContain('retire:walltime');
    expect(lost).toEqual([]);
  });

  it('stops growing on a refused submission with the scheduler’s message; the workers it has keep working', async () => {
    const c = cluster();
    const queues = process.env.SIMQ_QUEUES;
    try {
      await using pool = c.adapt(simq({ queue: 'short' }), { minimum: 1, maximum: 3, idleTimeoutMs: 60_000, intervalMs: 50 });
      const events = count(pool);
      await waitFor(() => c.nworkers() === 1, 30_000, 'the first worker');
      // The site takes the queue away: the next submission is refused.
      process.env.SIMQ_QUEUES = 'main';
      const paused = new Promise<string>((resolve) => pool.once('paused', (e) => resolve(`${e.reason}: ${e.message}`)));
      const results = c.pmap(sleepFor, [200, 200, 200, 200, 200, 200]);
      expect(await paused).toMatch(/^submission-refused: .*invalid queue specified: short/);
      expect(await results).toHaveLength(6);
      expect(c.nworkers()).toBe(1);
      expect(events.ups).toBe(2);
      expect(pool.state().paused).toMatch(/growth is paused/);
    } finally {
      if (queues === undefined) delete process.env.SIMQ_QUEUES;
      else process.env.SIMQ_QUEUES = queues;
    }
  });

  it('counts launches that fail before their workers join, and pauses after maxLaunchFailures with the job’s error', async () => {
    const c = cluster();
    const seen = watchJobs(c);
    // Every job dies before its worker starts.
    await using pool = c.adapt(simq({ prologue: ['echo "no licence for this node" >&2', 'exit 3'] }), { minimum: 1, maximum: 2, intervalMs: 50, maxLaunchFailures: 2 });
    const failures: number[] = [];
    pool.on('launch-failed', (e) => failures.push(e.failures));
    const paused = await new Promise<{ reason: string; message: string }>((resolve) => pool.once('paused', (e) => resolve(e)));
    expect(paused.reason).toBe('launch-failures');
    expect(paused.message).toMatch(/2 launches in a row failed before their workers joined; growth is paused/);
    // The scheduler's verdict and the job's own stderr, as addprocs would report them.
    expect(paused.message).toMatch(/ended FAILED[\s\S]*exit code 3[\s\S]*no licence for this node/);
    expect(failures).toEqual([1, 2]);
    // Paused: no more submissions, however long the minimum stays unmet (several decisions later).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pool.launches).toBe(2);
    expect(seen.jobs.size).toBe(2);
    expect(pool.state().paused).toMatch(/growth is paused/);
  });

  it('stop() cancels queued workers, and a map waiting for them fails instead of waiting forever', async () => {
    const c = cluster();
    const seen = watchJobs(c);
    const pool = c.adapt(simq({ hold: true }), { minimum: 0, maximum: 2, idleTimeoutMs: 60_000, intervalMs: 50 });
    let stopped = false;
    pool.on('stopped', () => (stopped = true));
    const scaledUp = new Promise<void>((resolve) => pool.once('scale-up', () => resolve()));
    const map = c.pmap(sleepFor, [10, 10, 10]).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await scaledUp;
    await waitFor(() => seen.jobs.size === 1, 20_000, 'the job to be submitted');
    await pool.stop();
    expect(stopped).toBe(true);
    expect(pool.state()).toMatchObject({ pending: 0, stopped: true });
    expect(await map).toMatch(/pmap: no eligible workers are left/);
    const record = simqRecord([...seen.jobs][0]!);
    expect(record.cancelled.sort()).toEqual(['0', '1']);
    expect(record.ran).toEqual([]);
  });
});
