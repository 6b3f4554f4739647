// Behaviours of the batch machinery beyond the conformance suite, against simq: retrying
// transient submission failures, one batched status command per poll, walltime (endsAt,
// TIMEOUT explained, replacement jobs), failures after joining, abort, and interrupt
// handlers that exist only while jobs do.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../src/index.js';
import { JobQueueManager, type SchedulerDriver, interruptHandlersInstalled } from '../src/driver.js';
import { execa } from 'execa';
import { SIMQ_FLAG_NAMES, SimulatedQueueManager, type SimulatedOptions, liveJobs, simqPath, simulatedDriver, simulatedOptionsSchema, waitUntilGone } from '../src/testing/index.js';
import { quietLogger, waitFor } from './helpers.js';

const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-batch-simq-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));
const open: Cluster[] = [];
const cluster = () => {
  const c = new Cluster({ logger: quietLogger(), onOutput: () => {}, host: '127.0.0.1' });
  open.push(c);
  return c;
};
const simq = (np: number, options: SimulatedOptions = {}) => new SimulatedQueueManager(np, { logDir, progress: 'none', ...options });

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** A driver of our own, as a third party would write one: simq with a changed command. */
class CustomManager extends JobQueueManager {
  constructor(driver: SchedulerDriver, np: number) {
    super(np, { logDir, progress: 'none' }, { driver, flagSchema: simulatedOptionsSchema, flagNames: SIMQ_FLAG_NAMES });
  }
}

describe('submission', () => {
  it('retries transient failures with the configured delays, reporting each retry as progress', async () => {
    const c = cluster();
    const progress: string[] = [];
    c.on('launch-progress', (p) => progress.push(p.message));
    const ids = await c.addprocs(simq(1, { flaky: 2, submitRetryDelays: [50, 50, 50] }));
    expect(ids).toHaveLength(1);
    expect(progress.filter((m) => /submission attempt \d failed \(simq: error: controller busy, try again later\); retrying in 0\.1 s/.test(m))).toHaveLength(2);
  });

  it('gives up after the last delay with a SchedulerError saying how often it tried', async () => {
    const error = await cluster()
      .addprocs(simq(1, { flaky: 5, submitRetryDelays: [20] }))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error?.name).toBe('SchedulerError');
    expect(error?.message).toMatch(
      /refused the job: "controller busy, try again later" — the simq controller kept failing; try again later, or allow more retries with `submitRetryDelays` \(exit code 1, after 2 attempts;/,
    );
  });

  it('says so when the scheduler’s commands are not installed', async () => {
    const driver: SchedulerDriver = { ...simulatedDriver, name: 'nosuch', submit: { ...simulatedDriver.submit, command: (script) => ['cm-no-such-submit', script] } };
    const error = await cluster()
      .addprocs(new CustomManager(driver, 1))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error?.name).toBe('SchedulerError');
    expect(error?.message).toMatch(/`cm-no-such-submit` was not found — is this a nosuch submit host\? Put the nosuch client commands on PATH/);
  });
});

describe('watching', () => {
  it('polls all jobs of a scheduler with one status command per poll, backing off', async () => {
    const calls: string[][] = [];
    const driver: SchedulerDriver = {
      ...simulatedDriver,
      name: 'counted',
      status: { ...simulatedDriver.status, command: (ids) => (calls.push([...ids]), simulatedDriver.status.command(ids)) },
    };
    const held = (): JobQueueManager =>
      new (class extends JobQueueManager {
        constructor() {
          super(1, { logDir, progress: 'none', hold: true, pollMs: 100, pollMaxMs: 2_000 }, { driver, flagSchema: simulatedOptionsSchema, flagNames: SIMQ_FLAG_NAMES });
        }
      })();
    const c = cluster();
    const [a, b] = [held(), held()];
    const launches = [c.addprocs(a, { timeoutMs: 4_000 }), c.addprocs(b, { timeoutMs: 4_000 })].map((p) => p.catch((e: Error) => e));
    await waitFor(() => a.jobIds().length + b.jobIds().length === 2, 5_000, 'both submissions');
    const both = [...a.jobIds(), ...b.jobIds()].sort();
    const since = calls.length;
    await Promise.all(launches);
    // Until the first launch timed out and cancelled its job, every poll asked about both jobs.
    const lastWithBoth = calls.findLastIndex((ids) => ids.length === 2);
    const window = calls.slice(since, lastWithBoth + 1);
    expect(window.length).toBeGreaterThanOrEqual(3);
    // ~4 s at 100 ms growing ×1.5 up to 2 s is about 8 polls; one command per job would double it.
    expect(window.length).toBeLessThanOrEqual(12);
    for (const ids of window) expect([...ids].sort()).toEqual(both);
  });
});

describe('cancelling', () => {
  /** simq with every cancel command recorded. */
  const recording = () => {
    const cancels: string[][] = [];
    const driver: SchedulerDriver = { ...simulatedDriver, name: 'recorded', cancel: { command: (ids) => (cancels.push([...ids]), simulatedDriver.cancel.command(ids)) } };
    const make = (np: number, options: SimulatedOptions) =>
      new (class extends JobQueueManager {
        constructor() {
          super(np, { logDir, progress: 'none', ...options }, { driver, flagSchema: simulatedOptionsSchema, flagNames: SIMQ_FLAG_NAMES });
        }
      })();
    return { cancels, make };
  };

  it('cancels each array task when its worker is removed, and a job of tasks when its last worker is', async () => {
    const { cancels, make } = recording();
    const c = cluster();
    const array = make(2, { layout: 'array' });
    const [a, b] = await c.addprocs(array);
    const [arrayJob] = array.jobIds();
    await c.rmprocs(a!);
    await waitFor(() => cancels.length === 1, 5_000, 'the first cancel');
    expect(cancels[0]![0]).toMatch(new RegExp(`^${arrayJob}_[01]$`));
    await c.rmprocs(b!);
    await waitFor(() => cancels.length === 2, 5_000, 'the second cancel');
    expect(cancels.flat().sort()).toEqual([`${arrayJob}_0`, `${arrayJob}_1`]);

    const tasks = make(2, { layout: 'tasks' });
    const [x, y] = await c.addprocs(tasks);
    const [tasksJob] = tasks.jobIds();
    await c.rmprocs(x!);
    expect(cancels).toHaveLength(2);
    await c.rmprocs(y!);
    await waitFor(() => cancels.length === 3, 5_000, 'the job cancel');
    expect(cancels[2]).toEqual([tasksJob]);
  });

  it('cancels a job still queued when the cluster closes', async () => {
    const { cancels, make } = recording();
    const c = cluster();
    const manager = make(1, { hold: true });
    const launch = c.addprocs(manager).then(
      () => undefined,
      (e: Error) => e,
    );
    await waitFor(() => manager.jobIds().length === 1, 5_000, 'the submission');
    const [job] = manager.jobIds();
    await c.close();
    expect((await launch)?.message).toMatch(/the cluster was closed/);
    expect(cancels).toEqual([[job]]);
    await waitUntilGone(simulatedDriver, [job!], 5_000);
  });
});

describe('walltime', () => {
  it('tells each worker when its job ends, and explains a worker lost at the walltime', async () => {
    const c = cluster();
    const [id] = await c.addprocs(simq(1, { time: 3 }));
    const endsAt = c.worker(id!).endsAt!;
    expect(endsAt - Date.now()).toBeGreaterThan(1_000);
    expect(endsAt - Date.now()).toBeLessThanOrEqual(3_000);
    const error = await c
      .remotecallFetch(id!, () => new Promise(() => {}))
      .then(
        () => undefined,
        (e: Error & { detail?: string }) => e,
      );
    expect(error?.name).toBe('WorkerLostError');
    expect(error?.detail).toMatch(/^simq job \d+_0 ended TIMEOUT \(TimeLimit\): it reached its walltime limit; ask for more time$/);
  });

  it('submits a replacement job before the walltime when asked, and its workers join the same launch', async () => {
    const c = cluster();
    const manager = simq(1, { time: 4, replaceBeforeWalltime: 2_500 });
    const [first] = await c.addprocs(manager);
    const firstJob = c.worker(first!).jobId;
    const replacement = await new Promise<number>((resolve) => c.on('worker-joined', (w) => resolve(w.id)));
    expect(c.worker(replacement).jobId).not.toBe(firstJob);
    expect(c.worker(replacement).launchId).toBe(c.worker(first!).launchId);
    expect(manager.jobIds()).toHaveLength(2);
    await waitFor(() => !c.workers().includes(first!), 8_000, 'the first job to reach its walltime');
    expect(c.workers()).toContain(replacement);
    const jobs = manager.jobIds();
    await c.close();
    await waitUntilGone(simulatedDriver, jobs, 10_000);
  });

  it('refuses replaceBeforeWalltime without a walltime longer than the lead', () => {
    expect(() => simq(1, { replaceBeforeWalltime: true })).toThrow(/`replaceBeforeWalltime` \(600000 ms ahead\) needs a walltime option longer than that/);
    expect(() => simq(1, { time: 60, replaceBeforeWalltime: 90_000 })).toThrow(/\(it is 60 s\)/);
  });
});

describe('jobs that end, aborts and interrupts', () => {
  it('explains a worker whose job failed after it joined', async () => {
    const c = cluster();
    const [id] = await c.addprocs(simq(1, { layout: 'array' }));
    const error = await c
      .remotecallFetch(id!, () => process.exit(5))
      .then(
        () => undefined,
        (e: Error & { detail?: string }) => e,
      );
    expect(error?.detail).toMatch(/^simq job \d+_0 ended FAILED \(NonZeroExitCode\), exit code 5: it failed$/);
  });

  it('cancels the job when addprocs is aborted', async () => {
    const c = cluster();
    const manager = simq(2, { hold: true });
    const controller = new AbortController();
    const launch = c.addprocs(manager, { signal: controller.signal }).then(
      () => undefined,
      (e: Error) => e,
    );
    await waitFor(() => manager.jobIds().length === 1, 5_000, 'the submission');
    const [job] = manager.jobIds();
    controller.abort();
    expect((await launch)?.message).toMatch(/aborted with 0 of 2 workers joined/);
    await waitUntilGone(simulatedDriver, [job!], 5_000);
  });

  it('a master that exits without close() cancels its jobs on the way out', async () => {
    const dist = (file: string) => JSON.stringify(new URL(`../dist/${file}`, import.meta.url).href);
    const program = [
      `const { Cluster } = await import(${dist('index.js')});`,
      `const { SimulatedQueueManager } = await import(${dist('testing/index.js')});`,
      `const manager = new SimulatedQueueManager(2, { progress: 'none', logDir: ${JSON.stringify(logDir)} });`,
      `await new Cluster({ host: '127.0.0.1' }).addprocs(manager);`,
      `console.log('JOBS ' + manager.jobIds().join(','));`,
    ].join('\n');
    const result = await execa(process.execPath, ['--input-type=module', '-e', program], { timeout: 30_000 });
    const jobs = /^JOBS (\S+)$/m.exec(result.stdout)![1]!.split(',');
    expect(await liveJobs(simulatedDriver, jobs)).toEqual([]);
    // Cancelled by the exit hook before the workers could notice that the master was gone.
    const status = await execa(process.execPath, [simqPath(), 'status', ...jobs]);
    expect(status.stdout.split('\n').map((line) => line.split(' ')[1])).toEqual(['CANCELLED', 'CANCELLED']);
  });

  it('a manager reused for a second addprocs that fails keeps the first launch’s job', async () => {
    const c = cluster();
    const manager = simq(1);
    const [first] = await c.addprocs(manager);
    const [kept] = manager.jobIds();
    const controller = new AbortController();
    const second = c.addprocs(manager, { signal: controller.signal }).then(
      () => undefined,
      (e: Error) => e,
    );
    // Abort once the second job is submitted (its worker needs far longer than this to join).
    await waitFor(() => manager.jobIds().length === 2, 5_000, 'the second submission');
    controller.abort();
    expect((await second)?.message).toMatch(/aborted/);
    await waitFor(() => manager.jobIds().length === 1, 5_000, 'the second job to be cancelled');
    expect(manager.jobIds()).toEqual([kept]);
    expect(await liveJobs(simulatedDriver, [kept!])).toEqual([kept]);
    expect(await c.remotecallFetch(first!, () => 'still here')).toBe('still here');
  });

  it('installs interrupt handlers only while jobs are live', async () => {
    expect(interruptHandlersInstalled()).toBe(false);
    const c = cluster();
    await c.addprocs(simq(1));
    expect(interruptHandlersInstalled()).toBe(true);
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(0);
    await c.close();
    expect(interruptHandlersInstalled()).toBe(false);
  });
});

describe('the shapes other schedulers need', () => {
  /** Node flags that keep a worker from joining for 20 s. */
  const slowStart = ['--import', 'data:text/javascript,await new Promise((r) => setTimeout(r, 20000))'];

  it('stops remote workers that never joined (the command announced their pid) when the launch times out', async () => {
    const c = cluster();
    const manager = simq(2, { variant: 'processes', nodeArgs: slowStart });
    // Each remote worker is an orphan of its launcher (like bpsh's): only the driver's stop command ends it.
    const before = new Set((await execa('pgrep', ['-f', 'setTimeout\\(r, 20000\\)'], { reject: false })).stdout.split('\n').filter(Boolean));
    const error = await c.addprocs(manager, { timeoutMs: 2_500 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/timed out/);
    const after = (await execa('pgrep', ['-f', 'setTimeout\\(r, 20000\\)'], { reject: false })).stdout.split('\n').filter((pid) => pid && !before.has(pid));
    expect(after).toEqual([]);
  }, 40_000);

  it('resolves addprocs once the running limit of workers joined, and takes the rest as they start', async () => {
    class LimitedManager extends JobQueueManager {
      constructor(np: number) {
        super(np, { logDir, progress: 'none' }, { driver: simulatedDriver, flagSchema: simulatedOptionsSchema, flagNames: SIMQ_FLAG_NAMES, runningLimit: () => 2 });
      }
    }
    const manager = new LimitedManager(3);
    expect(manager.expectedWorkers).toBe(2);
    expect(manager.submittedWorkers).toBe(3);
    expect(manager.acceptsLateWorkers).toBe(true);
    const c = cluster();
    const ids = await c.addprocs(manager);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    // simq runs every task: the third joins the same launch later.
    await waitFor(() => c.workers().length === 3, 20_000, 'the third worker');
    expect(manager.jobIds()).toHaveLength(1);
  }, 40_000);

  it('quotes the line the driver picks from a refusal, and skips lines with nothing to say', async () => {
    const { SchedulerError, schedulerSaid } = await import('../src/driver.js');
    expect(schedulerSaid("There was an error running the Slurm sbatch command.\nsbatch: error: invalid partition\n'")).toBe('invalid partition');
    const driver: SchedulerDriver = { ...simulatedDriver, name: 'said', submit: { ...simulatedDriver.submit, said: ({ stderr }) => /Unable to run job: (.*)/.exec(stderr)?.[1] } };
    const error = new SchedulerError('qsub refused the job', {
      scheduler: 'sge',
      command: ['qsub'],
      exitCode: 1,
      stderr: 'Unable to run job: unknown queue "nope"\nExiting.',
      said: driver.submit.said!({ stdout: '', stderr: 'Unable to run job: unknown queue "nope"\nExiting.', exitCode: 1 }),
    });
    expect(error.message).toMatch(/^qsub refused the job: "unknown queue "nope""/);
  });

  it('finds the log a scheduler names its own way (logFile), for the stderr of a failed task', () => {
    const driver: SchedulerDriver = { ...simulatedDriver, layouts: { array: { ...simulatedDriver.layouts.array!, logFile: (file, _job, task) => `${file}-${task}` } } };
    const where = { driver, layout: 'array' as const, launchId: 'L1', jobName: 'cm', logDir: '/logs' };
    return import('../src/driver.js').then(({ logPaths }) => {
      expect(logPaths(where).stderr).toBe('/logs/cm-L1-%A_%a.err');
      expect(logPaths(where, { jobId: '7', taskIndex: 3 }).stderr).toBe('/logs/cm-L1-%A_%a.err-3');
    });
  });
});
