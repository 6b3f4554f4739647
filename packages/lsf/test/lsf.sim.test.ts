// LSFManager against the LSF simulator of tooling/simulators (real processes; bsub, bjobs and
// bkill as lsf.md documents them): the shared conformance suite, then LSF's own cases.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, SchedulerError } from '@cm/core';
import { localRunner, logPaths, renderJob, submitJob } from '@cm/core/driver';
import { describeBatchDriver, liveJobs, waitUntilGone } from '@cm/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LSFManager, addprocsLsf, createLsfDriver, lsfDriver } from '../src/index.js';
import { type Simulator, eventually, filesUnder, useSimulator } from './sim.js';

const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-lsf-test-'));
const base = { logDir, progress: 'none' as const, pollMs: 100, pollMaxMs: 500, retryDelays: [50, 50, 50] };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let sim: Simulator;
let stop: () => Promise<void>;
beforeAll(() => {
  // The cluster counts memory in MB (LSF_UNIT_FOR_LIMITS), as new LSF installations do.
  ({ sim, stop } = useSimulator({ killGraceMs: 500, lsfConf: { LSF_UNIT_FOR_LIMITS: 'MB' } }));
});
afterAll(async () => {
  await stop();
  rmSync(logDir, { recursive: true, force: true });
});

describeBatchDriver(
  { describe, it },
  {
    name: 'lsf (simulator)',
    create: (np, options) => new LSFManager(np, options),
    baseOptions: base,
    // bsub -H: the array waits in PSUSP until it is killed.
    pendingOptions: { H: '' },
    refusedOptions: { options: { queue: 'nope' }, message: /bsub refused the job: "nope: No such queue. Job not submitted." — check `queue`/ },
    managerModule: { path: fileURLToPath(new URL('../dist/index.js', import.meta.url)), exportName: 'LSFManager' },
    timeoutMs: 60_000,
  },
);

describe('LSF through the simulator', () => {
  const open: Cluster[] = [];
  const secret = randomBytes(32).toString('base64url');
  const cluster = () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {}, secret });
    open.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    sim.inject({});
  });
  /** Nothing of these jobs in bjobs, and no process of the simulator left. */
  const allGone = async (jobIds: string[]) => {
    await waitUntilGone(lsfDriver, jobIds, 20_000);
    expect(await liveJobs(lsfDriver, jobIds)).toEqual([]);
    await eventually(() => expect(sim.processes()).toEqual([]));
  };
  const jobOf = (id: string) => sim.jobs().find((job: { id: number }) => String(job.id) === id);

  it("addprocs of 4: one bsub array; pmap returns each worker's task index, LSB_JOBID and LSB_JOBINDEX; close leaves nothing", async () => {
    const c = cluster();
    const before = sim.submissions().length;
    const ids = await addprocsLsf(c, 4, base);
    expect(ids).toHaveLength(4);
    const submitted = sim.submissions().slice(before);
    expect(submitted).toHaveLength(1);
    const jobId = /^Job <(\d+)> is submitted/.exec(submitted[0]!.stdout)![1]!;
    // Inside a worker: its id (myid) and what LSF told the job.
    const where = () => ({ worker: (globalThis as Record<symbol, unknown>)[Symbol.for('@cm/core.workerId')] as number, jobId: process.env.LSB_JOBID, index: Number(process.env.LSB_JOBINDEX) });
    const seen = [...(await c.pmap(where, [1, 2, 3, 4, 5, 6, 7, 8], { batchSize: 1 })), ...(await c.everywhere(where))];
    for (const { worker, jobId: lsbJobId, index } of seen) {
      const config = c.worker(worker);
      expect({ lsbJobId, index, jobId: config.jobId }).toEqual({ lsbJobId: jobId, index: config.taskIndex! + 1, jobId });
    }
    expect(new Set(seen.map((s) => s.index))).toEqual(new Set([1, 2, 3, 4]));
    expect(ids.map((id) => c.worker(id).taskIndex).sort()).toEqual([0, 1, 2, 3]);
    await c.close();
    await allGone([jobId]);
  });

  it('BSUB_STDERR set (OpenLava): bsub prints its `Job <N> is submitted` line on stderr, and the job id is still read', async () => {
    const c = cluster();
    const before = sim.submissions().length;
    process.env.BSUB_STDERR = 'y';
    try {
      const ids = await addprocsLsf(c, 2, base);
      expect(ids).toHaveLength(2);
    } finally {
      delete process.env.BSUB_STDERR;
    }
    const [submitted] = sim.submissions().slice(before);
    expect(submitted?.stdout).toBe('');
    const jobId = /^Job <(\d+)> is submitted/.exec(submitted!.stderr)![1]!;
    expect(c.workers().map((id) => c.worker(id).jobId)).toEqual([jobId, jobId]);
    await c.close();
    await allGone([jobId]);
  });

  it('passes typed options, other bsub options and free flags to the submission; the script comes on stdin', async () => {
    const c = cluster();
    const before = sim.submissions().length;
    const options = { ...base, queue: 'short', walltime: '1:00', memory: '1GB', slots: 2, project: 'cm-tests', resources: 'span[hosts=1]', Jd: 'lsf options test', bsubFlags: ['-app', 'cmapp'] };
    const ids = await c.addprocs(new LSFManager(2, options));
    const [submission] = sim.submissions().slice(before);
    expect(submission!.stdin).toBe(true);
    expect(submission!.argv).toEqual(['-app', 'cmapp']);
    const script = submission!.script as string;
    for (const directive of [
      '#BSUB -J "cm[1-2]"',
      '#BSUB -q short',
      '#BSUB -W 1:00',
      '#BSUB -M 1024',
      '#BSUB -n 2',
      '#BSUB -P cm-tests',
      '#BSUB -R "span[hosts=1] rusage[mem=1024]"',
      '#BSUB -Jd "lsf options test"',
    ]) {
      expect(script).toContain(`${directive}\n`);
    }
    const jobId = /Job <(\d+)> is submitted to queue <short>\./.exec(submission!.stdout)![1]!;
    expect(jobOf(jobId)?.meta).toMatchObject({ queue: 'short', slots: 2, projectName: 'cm-tests', name: 'cm', arraySpec: 'cm[1-2]' });
    const env = await c.everywhere(() => ({ queue: process.env.LSB_QUEUE, slots: process.env.LSB_DJOB_NUMPROC, endsAt: process.env.CM_ENDS_AT ?? null }));
    expect(env.map((e) => [e.queue, e.slots])).toEqual(ids.map(() => ['short', '2']));
    // Workers know when the run limit ends their job.
    for (const id of ids) expect(c.worker(id).endsAt).toBeGreaterThan(Date.now() + 50 * 60_000);
    await c.close();
    await allGone([jobId]);
  });

  it('a refused submission fails addprocs with what bsub said and what to do; nothing is queued', async () => {
    const c = cluster();
    const jobsBefore = sim.jobs().length;
    sim.inject({ submit: { kind: 'refuse', message: 'Request aborted by esub' } });
    const manager = new LSFManager(2, base);
    const error = await c.addprocs(manager).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error!.message).toMatch(/^bsub refused the job: "Request aborted by esub\. Job not submitted\." — the site's esub refused the job/);
    expect((error as SchedulerError).exitCode).toBe(255);
    expect((error as SchedulerError).attempts).toBe(1);
    expect(manager.jobIds()).toEqual([]);
    expect(sim.jobs()).toHaveLength(jobsBefore);
  });

  it('retries a submission while mbatchd does not answer, with retryDelays, and says so when it gives up', async () => {
    const c = cluster();
    const before = sim.submissions().length;
    sim.inject({ submit: { kind: 'transient', times: 2 } });
    const progress: string[] = [];
    c.on('launch-progress', (p) => progress.push(p.message));
    const ids = await c.addprocs(new LSFManager(1, { ...base, retryDelays: [20, 20] }));
    expect(ids).toHaveLength(1);
    expect(
      sim
        .submissions()
        .slice(before)
        .map((s: { exitCode: number }) => s.exitCode),
    ).toEqual([255, 255, 0]);
    expect(progress).toContainEqual(expect.stringMatching(/^lsf: submission attempt 1 failed \(.*Communication timeout\. Job not submitted\.\); retrying in 0 s$/));

    sim.inject({ submit: { kind: 'transient', times: 'always' } });
    const error = await c.addprocs(new LSFManager(1, { ...base, retryDelays: [20] })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      /bsub refused the job: ".*Communication timeout\. Job not submitted\." — the lsf controller kept failing; try again later, or allow more retries with `submitRetryDelays` \(exit code 255, after 2 attempts/,
    );
  });

  it('a worker whose job LSF kills while it runs fails its calls with WorkerLostError carrying TERM_RUNLIMIT', async () => {
    const c = cluster();
    const manager = new LSFManager(2, base);
    const ids = await c.addprocs(manager);
    const [jobId] = manager.jobIds();
    const victim = ids.find((id) => c.worker(id).taskIndex === 1)!;
    const survivor = ids.find((id) => id !== victim)!;
    const call = c
      .remotecallFetch(victim, () => new Promise(() => {}))
      .then(
        () => undefined,
        (e: Error & { detail?: string }) => e,
      );
    sim.killJob(`${jobId}[2]`, { reason: 'TERM_RUNLIMIT' });
    const error = await call;
    expect(error?.name).toBe('WorkerLostError');
    expect(error!.detail).toMatch(
      new RegExp(`^lsf job ${jobId}\\[2\\] ended EXIT \\(TERM_RUNLIMIT: job killed after reaching LSF run time limit\\).*: it reached its walltime limit; ask for more time$`),
    );
    // The other element runs on.
    expect(await c.remotecallFetch(survivor, () => process.env.LSB_JOBINDEX)).toBe('1');
    await c.close();
    await allGone([jobId!]);
  });

  it('leaves the secret in no file the simulator spooled or logged, nor in the job logs', async () => {
    const c = cluster();
    const manager = new LSFManager(2, base);
    await c.addprocs(manager);
    await c.pmap(
      (x: number) => {
        console.log(`spooled output ${x}`);
        return x;
      },
      [1, 2, 3],
    );
    const [jobId] = manager.jobIds();
    await c.close();
    await allGone([jobId!]);
    const spooled = filesUnder(sim.dir);
    expect(spooled.some((file) => file.includes(`${path.sep}lsf${path.sep}${jobId}${path.sep}`))).toBe(true);
    for (const file of [...spooled, ...filesUnder(logDir)]) expect(readFileSync(file, 'utf8').includes(secret), file).toBe(false);
    expect(JSON.stringify(sim.invocations()).includes(secret)).toBe(false);
  });

  it('throttle below np: addprocs resolves with K workers; one removed frees a slot and the next element joins', async () => {
    const c = cluster();
    const manager = new LSFManager(3, { ...base, throttle: 2 });
    const ids = await c.addprocs(manager);
    expect(ids).toHaveLength(2);
    const jobId = manager.jobIds()[0]!;
    expect(jobOf(jobId)?.meta).toMatchObject({ arraySpec: 'cm[1-3]%2' });
    await c.rmprocs([ids[0]!]);
    await eventually(() => expect(c.workers()).toHaveLength(2), 20_000);
    const joined = c
      .workers()
      .map((id) => c.worker(id).taskIndex)
      .sort();
    expect(joined).toContain(2);
    expect(await c.pmap((x: number) => x + 1, [1, 2, 3])).toEqual([2, 3, 4]);
  });

  it('throttle: the array LSF is given runs at most K elements at once', async () => {
    // What LSF does with the %K of our submission, checked with elements that end by
    // themselves: core renders the declared job with `sleep` for the worker and submits it as
    // a launch would.
    const driver = createLsfDriver({ throttle: 2 });
    const rendered = renderJob({
      driver,
      layout: 'array',
      np: 5,
      launchId: 'Lthrottle',
      jobName: 'throttled',
      logDir,
      optionFlags: [],
      worker: ['/bin/sleep', '0.4'],
      env: {},
      prologue: [],
      walltimeSeconds: undefined,
    });
    const logs = logPaths({ driver, layout: 'array', launchId: 'Lthrottle', jobName: 'throttled', logDir });
    const jobId = await submitJob(driver, path.join(logDir, 'throttled.sh'), {
      runner: localRunner,
      script: rendered.submitFile,
      extraFlags: [],
      logs: { stdoutPath: logs.stdout, stderrPath: logs.stderr },
      retryDelays: [],
    });
    expect(jobOf(jobId)?.meta).toMatchObject({ arraySpec: 'throttled[1-5]%2' });
    await waitUntilGone(lsfDriver, [jobId], 30_000);
    const tasks = jobOf(jobId)!.taskRecords as { startedAt: number; endedAt: number; exitCode: number }[];
    expect(tasks.map((t) => t.exitCode)).toEqual([0, 0, 0, 0, 0]);
    const edges = tasks
      .flatMap(
        (t) =>
          [
            [t.startedAt, 1],
            [t.endedAt, -1],
          ] as const,
      )
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    let most = 0;
    for (const [, step] of edges) most = Math.max(most, (running += step));
    expect(most).toBe(2);
  });
});
