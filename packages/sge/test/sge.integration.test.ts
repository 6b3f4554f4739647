// SGEManager against the real single-node Grid Engine of tooling/schedulers/gridengine.sh.
// Gated by gridEngineIsUp(): skipped locally when it is not up, failing under CI=true.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeBatchDriver, waitUntilGone } from '@cm/core/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SGEManager, addprocsSge } from '../src/index.js';
import { allJobs, clusters, deleteNamed, leftover, qstatJ } from './helpers.js';
import { gridEngineIsUp } from './sge-gate.js';

const up = gridEngineIsUp();
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-sge-test-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));
// pe smp: the tasks layout needs one; for arrays it is one slot per worker, as without it.
const base = { walltime: '00:10:00', pe: 'smp', logDir, progress: 'none' as const };
const names: string[] = [];
const name = (what: string) => {
  const jobName = `cm${what}${process.pid}`;
  names.push(jobName);
  return jobName;
};

describe.skipIf(!up)('Grid Engine qsub (real)', () => {
  describeBatchDriver(
    { describe, it },
    {
      name: 'sge',
      create: (np, options) => new SGEManager(np, options),
      baseOptions: base,
      // A user hold keeps the job in hqw until it is released or deleted.
      pendingOptions: { h: true },
      refusedOptions: { options: { queue: 'nope' }, message: /qsub refused the job: "Job was rejected because job requests unknown queue "nope"" — check `queue`/ },
      managerModule: { path: fileURLToPath(new URL('../dist/index.js', import.meta.url)), exportName: 'SGEManager' },
      timeoutMs: 90_000,
    },
  );

  const open = clusters();
  afterEach(async () => {
    await open.closeAll();
    await deleteNamed(names);
  });
  const sgeDriverOf = (manager: SGEManager) => manager.driver as Parameters<typeof waitUntilGone>[0];

  it('addprocs of 4 as one array; pmap sees JOB_ID and SGE_TASK_ID 1..4 while @cm counts 0..3; close leaves nothing', async () => {
    const c = open.open();
    const jobName = name('arr');
    const manager = new SGEManager(4, { ...base, jobName });
    const ids = await c.addprocs(manager);
    expect(ids).toHaveLength(4);
    const [jobId] = manager.jobIds();
    const seen = await c.pmap(() => ({ job: process.env.JOB_ID, task: process.env.SGE_TASK_ID }), [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(seen.map((s) => s.job))).toEqual(new Set([jobId]));
    for (const s of seen) expect(['1', '2', '3', '4']).toContain(s.task);
    const perWorker = await c.everywhere(() => ({ job: process.env.JOB_ID, task: Number(process.env.SGE_TASK_ID) }));
    expect(perWorker.map((w) => w.task).sort()).toEqual([1, 2, 3, 4]);
    ids.forEach((id, i) => {
      const config = c.worker(id);
      expect(config.jobId).toBe(jobId);
      expect(config.taskIndex).toBe(perWorker[i]!.task - 1);
    });
    await c.close();
    await waitUntilGone(sgeDriverOf(manager), [jobId!], 20_000);
    expect(await leftover({ ids: [jobId!], name: jobName })).toEqual([]);
  });

  it('with -tc 2 of 3, addprocs resolves with 2 workers and the third joins when one is removed', async () => {
    const c = open.open();
    const manager = new SGEManager(3, { ...base, tc: 2, jobName: name('tc') });
    const ids = await c.addprocs(manager);
    expect(ids).toHaveLength(2);
    await c.rmprocs([ids[0]!]);
    await expect
      .poll(
        () =>
          c
            .workers()
            .map((id) => c.worker(id).taskIndex)
            .sort(),
        { timeout: 30_000 },
      )
      .toEqual([...ids.slice(1).map((id) => c.worker(id).taskIndex), 2].sort());
  });

  it('honours wd: the workers run in it', async () => {
    const c = open.open();
    const wd = path.join(logDir, 'work dir');
    mkdirSync(wd);
    await addprocsSge(c, 2, { ...base, wd });
    expect(await c.everywhere(() => process.cwd())).toEqual([wd, wd]);
  });

  it('an invalid queue is a clear error before anything is queued', async () => {
    const c = open.open();
    const jobName = name('badq');
    const error = await addprocsSge(c, 2, { ...base, queue: 'nope', jobName }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('SchedulerError');
    expect(error?.message).toMatch(/Job was rejected because job requests unknown queue "nope"/);
    expect(error?.message).toMatch(/check `queue` \(`qconf -sql` lists the queues\)/);
    expect(error?.message).toMatch(/exit code 1; command: qsub -terse /);
    expect((await allJobs()).filter((job) => job.name === jobName)).toEqual([]);
  });

  it('a job in Eqw (wd missing on the node) fails addprocs at once with the reason, and is deleted', async () => {
    const c = open.open();
    const jobName = name('eqw');
    const progress: string[] = [];
    c.on('launch-progress', (p) => progress.push(p.message));
    const started = Date.now();
    const error = await addprocsSge(c, 2, { ...base, wd: '/nonexistent/cm-sge-test', jobName }, { timeoutMs: 60_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('LaunchError');
    expect(error?.message).toMatch(
      /^sge job \d+(\.\d)? ended Eqw \(error state, see qstat -j\): it is stuck in an error state and will not run — sge says: error: can't chdir to \/nonexistent\/cm-sge-test: No such file or directory — before its workers joined \(0 of 2 joined\)/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(progress).toContainEqual(expect.stringMatching(/^sge job \d+ \(array of 2\): 2 Eqw \(error state, see qstat -j\) - 0\/2 workers joined$/));
    expect(await leftover({ name: jobName })).toEqual([]);
  });

  it('a launch that times out while held shows why it waits, then deletes its job', async () => {
    const c = open.open();
    const jobName = name('held');
    const progress: string[] = [];
    c.on('launch-progress', (p) => progress.push(p.message));
    const manager = new SGEManager(2, { ...base, h: true, jobName });
    const error = await c.addprocs(manager, { timeoutMs: 4_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/sge launch timed out after 4000 ms with 0 of 2 workers joined/);
    expect(progress).toContainEqual(expect.stringMatching(/^sge job \d+ \(array of 2\): 2 hqw \(on hold\) - 0\/2 workers joined$/));
    expect(manager.jobIds()).toEqual([]);
    expect(await leftover({ name: jobName })).toEqual([]);
  });

  it.each([false, true])('the secret appears nowhere in qstat -j (with -V: %s)', async (exportAll) => {
    const secret = randomBytes(32).toString('base64url');
    const c = open.open(secret);
    const manager = new SGEManager(2, { ...base, ...(exportAll ? { V: true } : {}) });
    await c.addprocs(manager);
    const detail = await qstatJ(manager.jobIds()[0]!);
    expect(detail).toMatch(/job_number:/);
    if (exportAll) expect(detail).toMatch(/env_list:\s+\S*PATH=/);
    expect(detail).not.toContain(secret);
  });
});
