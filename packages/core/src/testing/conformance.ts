/**
 * The behaviour every batch driver must show, as one shared test suite (like unstorage's
 * driver tests): a driver's test file calls {@link describeBatchDriver} with its test
 * framework's `describe`/`it` and a way to create its manager, against a real or simulated
 * scheduler, and adds only its own extra cases.
 * @module
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type JobLayout, type JobQueueManager, type SchedulerDriver, isQueueDriver } from '../batch/index.js';
import { Cluster } from '../cluster/cluster.js';
import { isLaunchError, isWorkerLostError } from '../errors.js';
import { isSchedulerError } from '../batch/errors.js';
import type { ClusterOptions } from '../cluster/options.js';
import { liveJobs, waitUntilGone } from './queue.js';

/** The two functions of vitest, jest, mocha or node:test the suite needs. */
export interface TestApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeoutMs?: number): void;
}

/** How to run the suite against one driver. */
export interface BatchDriverConformance {
  /** Shown in test names. */
  name: string;
  /** Create the manager under test; `options` come from the suite and go over `baseOptions`. */
  create(np: number, options: Record<string, unknown>): JobQueueManager;
  /** Options every launch of the suite uses (partition, a short walltime…). */
  baseOptions?: Record<string, unknown>;
  /**
   * Options that keep a job queued until it is cancelled (a hold, an impossible-but-valid
   * request). Leave it out for a driver without a queue (`qrsh`, `bpsh`): the cases about
   * queued jobs are then skipped.
   */
  pendingOptions?: Record<string, unknown>;
  /** Options the scheduler refuses at submission, and the text its refusal must contain. */
  refusedOptions?: { options: Record<string, unknown>; message: RegExp };
  /** For the interrupt test: a module the child master imports (absolute path or URL) and its manager export. */
  managerModule?: { path: string; exportName: string };
  /** Layouts to test (default: every layout the driver declares). */
  layouts?: JobLayout[];
  /** Workers per launch (default 2). */
  np?: number;
  /** Time limit of each test, ms (default 90 s). */
  timeoutMs?: number;
  clusterOptions?: ClusterOptions;
  /** The driver's own cases, registered inside the suite's `describe` (unstorage's `additionalTests`). */
  additionalTests?(context: { create: (np: number, options?: Record<string, unknown>) => JobQueueManager; cluster: () => Cluster }): void;
}

const FAIL_MARKER = 'cm-conformance: failing on purpose';

/** Wait until none of these processes exists any more. */
async function waitUntilDead(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`worker processes still running ${timeoutMs} ms later: ${alive.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Register the conformance tests for a batch driver. */
export function describeBatchDriver(api: TestApi, suite: BatchDriverConformance): void {
  const np = suite.np ?? 2;
  const limit = suite.timeoutMs ?? 90_000;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const secret = randomBytes(32).toString('base64url');
  const cluster = () => new Cluster({ logger: quiet, onOutput: () => {}, secret, ...suite.clusterOptions });
  const make = (n: number, options: Record<string, unknown> = {}) => suite.create(n, { progress: 'none', ...suite.baseOptions, ...options });
  const probe = make(1).driver;
  const queued = isQueueDriver(probe);
  const queueDriver = () => make(1).driver as SchedulerDriver;
  const layouts: (JobLayout | 'processes')[] = queued ? (suite.layouts ?? (Object.keys(probe.layouts) as JobLayout[])) : ['processes'];

  api.describe(`${suite.name}: batch driver conformance`, () => {
    if (queued)
      api.it('renders a job script: directives first (or the driver’s submit file), worker settings, no secret', async () => {
        const manager = make(np);
        const driver = queueDriver();
        const rendered = manager.jobScript();
        const script = driver.render ? rendered.slice(rendered.indexOf('# --- body script ---\n') + '# --- body script ---\n'.length) : rendered;
        const lines = script.split('\n');
        assert.match(lines[0]!, /^#!/, 'the script starts with an interpreter line');
        if (!driver.render) {
          const prefix = driver.directivePrefix;
          const directives = lines.slice(1).filter((line) => line.startsWith(prefix));
          assert.ok(directives.length > 0, `the script has ${prefix} directives`);
          const firstCommand = lines.slice(1).findIndex((line) => line.trim() !== '' && !line.startsWith('#'));
          const lastDirective = lines.slice(1).findLastIndex((line) => line.startsWith(prefix));
          assert.ok(lastDirective < firstCommand, 'every directive comes before the first command');
        }
        assert.match(script, /^export CM_TEE_OUTPUT=1$/m);
        assert.match(script, /^export CM_TASK_INDEX_VARS=\S+$/m);
        assert.match(script, /^export CM_JOB_ID_VARS=\S+$/m);
        assert.match(script, /dist\/worker\/main\.js/);
        assert.doesNotMatch(rendered, /CM_SECRET=/, 'the secret stays out of the script');
      });

    for (const layout of layouts) {
      const what = queued ? 'one submission per addprocs; workers join with task index and job id' : 'one command per worker; workers join with task index';
      api.it(
        `[${layout}] ${what}; pmap runs; the secret stays out of the scheduler's hands`,
        async () => {
          const c = cluster();
          const manager = make(np, queued ? { layout } : {});
          try {
            const ids = await c.addprocs(manager);
            assert.equal(ids.length, np);
            const configs = ids.map((id) => c.worker(id));
            assert.deepEqual(
              configs.map((w) => w.taskIndex).sort(),
              Array.from({ length: np }, (_, i) => i),
            );
            const squares = await c.pmap((x: number) => x * x, [1, 2, 3, 4, 5]);
            assert.deepEqual(squares, [1, 4, 9, 16, 25]);
            const env = await c.everywhere(() => ({ secret: process.env.CM_SECRET ?? null }));
            assert.deepEqual(
              env,
              ids.map(() => ({ secret: null })),
            );
            const launchId = configs[0]!.launchId;
            const files = readdirSync(manager.logDir).filter((name) => name.includes(launchId));
            const secretFiles = files.filter((name) => name.endsWith('.secret'));
            assert.equal(secretFiles.length, 1, `one secret file for launch ${launchId} in ${manager.logDir}`);
            assert.equal(statSync(path.join(manager.logDir, secretFiles[0]!)).mode & 0o077, 0, 'the secret file is private (0600)');
            for (const name of files.filter((n) => !n.endsWith('.secret'))) {
              assert.ok(!readFileSync(path.join(manager.logDir, name), 'utf8').includes(secret), `the secret is not in ${name}`);
            }
            if (queued) {
              const jobs = manager.jobIds();
              assert.equal(jobs.length, 1, `one submission, got ${jobs.join(', ')}`);
              assert.deepEqual(
                configs.map((w) => w.jobId),
                ids.map(() => jobs[0]),
              );
              const tee = await c.everywhere(() => process.env.CM_TEE_OUTPUT ?? null);
              assert.deepEqual(
                tee,
                ids.map(() => '1'),
              );
              assert.equal(files.filter((name) => name.endsWith('.sh')).length >= 1, true, `a job script for launch ${launchId}`);
              await c.close();
              await waitUntilGone(queueDriver(), jobs, 20_000, manager.runner);
            } else {
              const pids = configs.map((w) => w.pid);
              await c.close();
              await waitUntilDead(pids, 20_000);
            }
            assert.deepEqual(
              readdirSync(manager.logDir).filter((name) => name.includes(launchId) && name.endsWith('.secret')),
              [],
              'the secret file is removed on close',
            );
          } finally {
            await c.close();
          }
        },
        limit,
      );
    }

    api.it(
      'fails fast with the job’s own stderr when a job fails at start; nothing stays queued',
      async () => {
        const c = cluster();
        // A job fails in its prologue; a command fails when node refuses a flag (and prints it).
        const manager = make(np, queued ? { prologue: [`echo '${FAIL_MARKER}' >&2`, 'exit 3'] } : { nodeArgs: ['--cm-conformance-failing-on-purpose'] });
        const submitted = new Set<string>();
        c.on('launch-progress', (p) => p.jobIds?.forEach((id) => submitted.add(id)));
        const started = Date.now();
        try {
          const error = await c.addprocs(manager, { timeoutMs: limit - 10_000 }).then(
            () => undefined,
            (e: Error) => e,
          );
          assert.ok(error, 'addprocs must fail');
          assert.ok(isLaunchError(error) && !isSchedulerError(error), `a LaunchError: ${error.name}: ${error.message}`);
          assert.match((error as Error & { stderrTail?: string }).stderrTail ?? '', queued ? new RegExp(FAIL_MARKER) : /cm-conformance-failing-on-purpose/, error.message);
          assert.match(error.message, /before its workers joined/);
          assert.ok(Date.now() - started < limit - 10_000, 'it failed before the launch timeout');
          if (queued) {
            assert.equal(submitted.size, 1);
            await waitUntilGone(queueDriver(), [...submitted], 20_000, manager.runner);
          }
        } finally {
          await c.close();
        }
      },
      limit,
    );

    if (suite.refusedOptions && queued) {
      const refused = suite.refusedOptions;
      api.it(
        'reports a refused submission as a SchedulerError saying what to do; nothing is queued',
        async () => {
          const c = cluster();
          const manager = make(np, refused.options);
          try {
            const error = await c.addprocs(manager).then(
              () => undefined,
              (e: Error) => e,
            );
            assert.ok(error, 'addprocs must fail');
            assert.ok(isSchedulerError(error), `a SchedulerError: ${error.name}: ${error.message}`);
            assert.match(error.message, refused.message);
            assert.match(error.message, /command: /);
            assert.deepEqual(manager.jobIds(), []);
          } finally {
            await c.close();
          }
        },
        limit,
      );
    }

    const pendingOptions = suite.pendingOptions;
    if (pendingOptions && queued)
      api.it(
        'cancels jobs still queued when the launch times out, and says how many joined; nothing is left once addprocs rejects',
        async () => {
          const c = cluster();
          const manager = make(np, pendingOptions);
          const submitted = new Set<string>();
          c.on('launch-progress', (p) => p.jobIds?.forEach((id) => submitted.add(id)));
          try {
            const error = await c.addprocs(manager, { timeoutMs: 4_000 }).then(
              () => undefined,
              (e: Error) => e,
            );
            assert.ok(error, 'addprocs must time out');
            assert.match(error.message, /timed out .* with 0 of \d+ workers joined/);
            assert.equal(submitted.size, 1);
            assert.ok(error.message.includes(`still pending: ${manager.name} job ${[...submitted][0]}`), `the error names the job and its last state: ${error.message}`);
            // The cancel has finished by the time addprocs rejects: a master exiting now leaves nothing queued.
            assert.deepEqual(await liveJobs(queueDriver(), [...submitted], manager.runner), []);
            assert.deepEqual(manager.jobIds(), []);
          } finally {
            await c.close();
          }
        },
        limit,
      );

    api.it(
      'leaves nothing queued after rmprocs of all its workers',
      async () => {
        const c = cluster();
        const manager = make(np);
        try {
          const ids = await c.addprocs(manager);
          const jobs = manager.jobIds();
          const pids = ids.map((id) => c.worker(id).pid);
          await c.rmprocs(ids);
          if (queued) await waitUntilGone(queueDriver(), jobs, 20_000, manager.runner);
          await waitUntilDead(pids, 20_000);
        } finally {
          await c.close();
        }
      },
      limit,
    );

    api.it(
      'a worker lost with its job carries what the scheduler said (WorkerLostError.detail)',
      async () => {
        const c = cluster();
        const manager = make(np);
        try {
          const [id] = await c.addprocs(manager);
          const call = c
            .remotecallFetch(id!, () => new Promise(() => {}))
            .then(
              () => undefined,
              (e: Error & { detail?: string }) => e,
            );
          if (queued) {
            const [cancel, ...args] = queueDriver().cancel.command(manager.jobIds());
            await execa(cancel!, args);
          } else {
            process.kill(c.worker(id!).pid, 'SIGKILL');
          }
          const error = await call;
          assert.ok(isWorkerLostError(error), `a WorkerLostError: ${String(error?.name)}: ${String(error?.message)}`);
          assert.match(error.detail ?? '', queued ? /cancel/i : /killed|exited/i, error.message);
        } finally {
          await c.close();
        }
      },
      limit,
    );

    suite.additionalTests?.({ create: make, cluster });

    if (suite.managerModule && pendingOptions && queued) {
      const module = suite.managerModule;
      api.it(
        'SIGINT of the master cancels its jobs and ends it with the conventional status',
        async () => {
          const master = fileURLToPath(new URL('../../dist/testing/interrupted-master.js', import.meta.url));
          const spec = { module: module.path, exportName: module.exportName, np, options: { progress: 'none', ...suite.baseOptions, ...pendingOptions }, clusterOptions: suite.clusterOptions ?? {} };
          const child = execa(process.execPath, [master, JSON.stringify(spec)], { reject: false, buffer: true, all: true });
          const jobs = await new Promise<string[]>((resolve, reject) => {
            let seen = '';
            child.stdout?.on('data', (chunk: Buffer) => {
              seen += chunk.toString();
              const match = /^JOBS (\S+)$/m.exec(seen);
              if (match) resolve(match[1]!.split(','));
            });
            void child.then((result) => reject(new Error(`the master exited before submitting: ${String(result.all)}`)));
          });
          assert.deepEqual(await liveJobs(queueDriver(), jobs), jobs, 'the job is queued before the interrupt');
          child.kill('SIGINT');
          const result = await child;
          assert.ok(result.signal === 'SIGINT' || result.exitCode === 130, `the master ended by SIGINT (signal ${String(result.signal)}, exit ${String(result.exitCode)}): ${String(result.all)}`);
          await waitUntilGone(queueDriver(), jobs, 20_000);
        },
        limit,
      );
    }
  });
}
