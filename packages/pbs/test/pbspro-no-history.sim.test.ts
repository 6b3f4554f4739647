// @cm/pbs against a PBS Pro simulator whose server keeps no job history (job_history_enable
// off, PBS Pro's default): `qstat -x` is refused for every job, lists nothing and exits 0
// (pbs.md §3). Jobs that are queued or running must not be taken for gone, and jobs that end
// must still be seen to end.
import { randomBytes } from 'node:crypto';
import { Cluster, type LaunchError } from '@cm/core';
import type { SchedulerDriver } from '@cm/core/driver';
import { waitUntilGone } from '@cm/core/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PBSManager } from '../src/index.js';
import { useSimulator } from './simulator.js';

const env = useSimulator('pbspro', { queues: ['workq'], history: false });
afterAll(() => env.close());

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
// Polls far faster than a job starts: two polls that list nothing would end the launch.
const base = { logDir: env.logDir, queue: 'workq', progress: 'none' as const, pollMs: 50, pollMaxMs: 100 };

describe('PBS Pro without job history (simulated)', () => {
  const open: Cluster[] = [];
  const cluster = () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {}, secret: randomBytes(32).toString('base64url') });
    open.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });

  it('a held array stays a queued launch (until its timeout), not one taken for gone', async () => {
    const c = cluster();
    const manager = new PBSManager(2, { ...base, h: '' });
    const error = await c.addprocs(manager, { timeoutMs: 8_000 }).then(
      () => undefined,
      (e: LaunchError) => e,
    );
    // With `qstat -x` read as "no jobs", the array would have "ended GONE" after two polls.
    expect(error?.message).toMatch(/launch timed out after 8000 ms with 0 of 2 workers joined/);
    expect(error?.message).not.toMatch(/GONE/);
    await waitUntilGone(manager.driver as SchedulerDriver, manager.jobIds(), 20_000);
  });

  it('addprocs of 3 joins the array; close leaves nothing', async () => {
    const c = cluster();
    const manager = new PBSManager(3, base);
    const ids = await c.addprocs(manager);
    expect(ids).toHaveLength(3);
    const [jobId] = manager.jobIds();
    expect(jobId).toMatch(/^\d+\[\]\.\w+$/);
    await c.close();
    await waitUntilGone(manager.driver as SchedulerDriver, [jobId!], 20_000);
  });

  it('a job that fails at start still fails the launch fast, with its stderr', async () => {
    const c = cluster();
    const error = await c.addprocs(new PBSManager(2, { ...base, prologue: ["echo 'failing on purpose' >&2", 'exit 3'] }), { timeoutMs: 60_000 }).then(
      () => undefined,
      (e: LaunchError) => e,
    );
    expect(error?.name).toBe('LaunchError');
    expect(error?.stderrTail).toMatch(/failing on purpose/);
    // It ended (and then was forgotten: no history), rather than the launch timing out.
    expect(error?.message).toMatch(/^pbs job \d+\[\d\]\.\w+ ended|^pbs job \d+\[\]\.\w+ ended GONE/);
  });
});
