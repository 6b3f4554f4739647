/**
 * Scheduler faults, injected through a driver's own command hooks around simq (the simulated
 * scheduler of @cm/core/testing): a submit command that hangs, a controller that refuses
 * submissions for a while, a status command that fails for a while, and a controller that is
 * down when close() cancels. The machinery must time out, retry, report and still end clean.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cluster, type JobQueueOptions } from '../../src/index.js';
import { JobQueueManager, type SchedulerDriver } from '../../src/driver.js';
import { SIMQ_FLAG_NAMES, liveJobs, simqPath, simulatedDriver, simulatedOptionsSchema, waitUntilGone } from '../../src/testing/index.js';
import { quietLogger, waitFor } from '../helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-scheduler-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * `faulty STATE CMD…`: while the file STATE holds a number above 0, count it down and fail the
 * way a controller that is down does (stderr, exit 1); otherwise run CMD. One outage counter
 * per command kind, so a test says "the next N status commands fail".
 */
const faulty = path.join(dir, 'faulty.sh');
writeFileSync(
  faulty,
  [
    '#!/bin/sh',
    'state=$1; shift',
    // Commands run concurrently (a cancel for a worker that left beside close()'s): without the
    // lock, one could read the counter while another rewrites it, see nothing, and run for real.
    'exec 9>"$state.lock"',
    'flock 9',
    'n=$(cat "$state")',
    'if [ "$n" -gt 0 ]; then',
    '  echo $((n - 1)) > "$state.next" && mv "$state.next" "$state"',
    '  exec 9>&-',
    '  echo "simq: error: controller busy, try again later (simulated outage, $n left)" >&2',
    '  exit 1',
    'fi',
    'exec 9>&-',
    'exec "$@"',
    '',
  ].join('\n'),
  { mode: 0o755 },
);

/** An outage of one command kind: `fail(n)` makes its next n runs fail; `left()` says how many are still to fail. */
function outage(name: string): { file: string; fail(n: number): void; left(): number } {
  const file = path.join(dir, `${name}-${Math.random().toString(36).slice(2)}.outage`);
  // Written whole through a rename, so a command reading it never sees it half written.
  const fail = (n: number) => {
    writeFileSync(`${file}.set`, String(n));
    renameSync(`${file}.set`, file);
  };
  fail(0);
  return { file, fail, left: () => Number(readFileSync(file, 'utf8').trim()) };
}

/** A driver of our own, as a third party would write one: simq behind fault-injecting command hooks. */
class FaultyQueueManager extends JobQueueManager {
  constructor(driver: SchedulerDriver, np: number, options: JobQueueOptions & Record<string, unknown> = {}) {
    super(np, { logDir: dir, progress: 'none', ...options }, { driver, flagSchema: simulatedOptionsSchema, flagNames: SIMQ_FLAG_NAMES });
  }
}

function faultyDriver(outages: { submit?: string; status?: string; cancel?: string }): SchedulerDriver {
  const wrap = (state: string | undefined, argv: readonly string[]) => (state ? [faulty, state, ...argv] : [...argv]);
  return {
    ...simulatedDriver,
    name: 'faultyq',
    submit: { ...simulatedDriver.submit, command: (script, extra, logs) => wrap(outages.submit, simulatedDriver.submit.command(script, extra, logs)) },
    status: { ...simulatedDriver.status, command: (ids) => wrap(outages.status, simulatedDriver.status.command(ids)) },
    cancel: { ...simulatedDriver.cancel, command: (ids) => wrap(outages.cancel, simulatedDriver.cancel.command(ids)) },
  };
}

const open: Cluster[] = [];
function cluster(): { cluster: Cluster; warnings: string[] } {
  const logger = quietLogger();
  const c = new Cluster({ logger, onOutput: () => {}, host: '127.0.0.1' });
  open.push(c);
  return { cluster: c, warnings: logger.warnings };
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** Pids of processes whose command line is exactly `argv` (pgrep -f -x). */
async function pidsOf(argv: readonly string[]): Promise<string[]> {
  const result = await execa('pgrep', ['-f', '-x', argv.join(' ')], { reject: false });
  return result.stdout.split('\n').filter(Boolean);
}

describe('a submit command that hangs', () => {
  /** A driver whose submit command hangs; a unique duration, so pgrep finds this test's command only. */
  const hangingDriver = () => {
    const hang = ['sleep', `600.${process.pid}${Math.floor(Math.random() * 1e6)}`];
    const driver: SchedulerDriver = { ...simulatedDriver, name: 'hangq', submit: { ...simulatedDriver.submit, command: () => hang } };
    return { hang, driver };
  };

  it('addprocs with timeoutMs rejects in time, and close() resolves', async () => {
    const { hang, driver } = hangingDriver();
    const { cluster: c } = cluster();
    const started = Date.now();
    try {
      const error = await c.addprocs(new FaultyQueueManager(driver, 1), { timeoutMs: 3_000 }).then(
        () => undefined,
        (e: Error) => e,
      );
      const rejectedAfter = Date.now() - started;
      expect(error?.message).toMatch(/hangq launch timed out after 3000 ms with 0 of 1 workers joined/);
      // Generous for a loaded machine: the point is seconds, not the 600 s of the command.
      expect(rejectedAfter).toBeLessThan(3_000 + 15_000);
      await c.close();
      console.log(`[reliability] hung submit: addprocs rejected after ${rejectedAfter} ms (timeoutMs 3000), close() resolved ${Date.now() - started - rejectedAfter} ms later`);
    } finally {
      for (const pid of await pidsOf(hang)) process.kill(Number(pid), 'SIGKILL');
    }
  }, 60_000);

  // A submit command still running when its launch is abandoned gets a 5 s grace (to finish
  // and leave a job id to cancel), then it is stopped: it must not outlive the launch.
  it('the hung submit command is killed once the launch has failed (within its 5 s grace)', async () => {
    const { hang, driver } = hangingDriver();
    const { cluster: c } = cluster();
    await c.addprocs(new FaultyQueueManager(driver, 1), { timeoutMs: 2_000 }).catch(() => undefined);
    await c.close();
    const deadline = Date.now() + 10_000;
    let left = await pidsOf(hang);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      left = await pidsOf(hang);
    }
    try {
      expect(left, `\`${hang.join(' ')}\` still running 10 s after close()`).toEqual([]);
    } finally {
      for (const pid of left) process.kill(Number(pid), 'SIGKILL');
    }
  }, 60_000);
});

describe('a controller that refuses submissions for a while', () => {
  it('transient submit failures are retried, each reported as progress, and the launch succeeds', async () => {
    const submits = outage('submit');
    submits.fail(3);
    const { cluster: c } = cluster();
    const progress: string[] = [];
    c.on('launch-progress', (p) => progress.push(p.message));
    const manager = new FaultyQueueManager(faultyDriver({ submit: submits.file }), 2, { submitRetryDelays: [100, 200, 400, 800] });
    const ids = await c.addprocs(manager, { timeoutMs: 60_000 });
    expect(ids).toHaveLength(2);
    expect(submits.left()).toBe(0);
    expect(progress.filter((m) => /^faultyq: submission attempt [123] failed \(simq: error: controller busy, try again later \(simulated outage, \d left\)\); retrying in/.test(m))).toHaveLength(3);
    expect(await c.pmap((x: number) => x * 2, [1, 2, 3, 4])).toEqual([2, 4, 6, 8]);
  }, 60_000);
});

describe('a status command failing for a while', () => {
  it('progress says the status is unknown for now, and the launch still succeeds once it recovers', async () => {
    const statuses = outage('status');
    statuses.fail(4);
    const { cluster: c } = cluster();
    const progress: string[] = [];
    c.on('launch-progress', (p) => progress.push(p.message));
    // The job starts its worker 4 s late, so the outage happens while the launch waits.
    const manager = new FaultyQueueManager(faultyDriver({ status: statuses.file }), 1, { pollMs: 200, pollMaxMs: 400, prologue: ['sleep 4'] });
    const ids = await c.addprocs(manager, { timeoutMs: 60_000 });
    expect(ids).toHaveLength(1);
    expect(statuses.left()).toBe(0);
    const unknown = progress.filter((m) => /^faultyq: status of job \d+ unknown for now \(.*could not report the jobs' status.*\); still trying$/.test(m));
    expect(unknown.length).toBeGreaterThanOrEqual(1);
    // After the outage the poller went on and saw the job again, before the worker joined.
    const firstUnknown = progress.indexOf(unknown[0]!);
    expect(progress.slice(firstUnknown).some((m) => /^faultyq job \d+: .*RUNNING/.test(m))).toBe(true);
    expect(await c.remotecallFetch(ids[0]!, () => 42)).toBe(42);
  }, 60_000);
});

describe('a controller that is down when close() cancels', () => {
  it('after a launch: the cancel is retried, then a clear SchedulerError is logged, and close() still resolves', async () => {
    const [cancels, statuses] = [outage('cancel'), outage('status')];
    const { cluster: c, warnings } = cluster();
    const manager = new FaultyQueueManager(faultyDriver({ cancel: cancels.file, status: statuses.file }), 1);
    await c.addprocs(manager, { timeoutMs: 60_000 });
    const [jobId] = manager.jobIds();
    // The whole controller is down: status too, so no poll sees the job end once its worker leaves.
    statuses.fail(1_000);
    cancels.fail(100);
    const closing = Date.now();
    await c.close();
    // At least one attempt and three retries (a second cancel, for the worker that left, may run beside close()'s).
    const attempts = 100 - cancels.left();
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(warnings.join('\n')).toMatch(new RegExp(`faultyq shutdown failed: .*could not cancel ${jobId}.*cancel them by hand \\(\`.*simq\\.js cancel ${jobId}\`\\)`));
    console.log(`[reliability] controller down at close(): ${attempts} cancel attempts, close() resolved after ${Date.now() - closing} ms; logged: ${warnings.find((w) => /shutdown failed/.test(w))}`);
    cancels.fail(0);
    statuses.fail(0);
    await execa(process.execPath, [simqPath(), 'cancel', jobId!]);
    await waitUntilGone(simulatedDriver, [jobId!], 20_000);
  }, 60_000);

  it('a controller down for two attempts: the retried cancel succeeds, nothing is logged, nothing stays queued', async () => {
    const cancels = outage('cancel');
    const { cluster: c, warnings } = cluster();
    const manager = new FaultyQueueManager(faultyDriver({ cancel: cancels.file }), 1, { hold: true });
    const launching = c.addprocs(manager, { timeoutMs: 600_000 }).catch((e: Error) => e);
    await waitFor(() => manager.jobIds().length === 1, 20_000, 'the held job to be submitted');
    const [jobId] = manager.jobIds();
    cancels.fail(2);
    await c.close();
    expect(await launching).toBeInstanceOf(Error);
    expect(cancels.left()).toBe(0);
    expect(warnings.filter((w) => /shutdown failed/.test(w))).toEqual([]);
    // close() resolved after the cancel finished: the job is no longer queued right now.
    expect(await liveJobs(simulatedDriver, [jobId!])).toEqual([]);
  }, 60_000);

  // A launch still pending when close() (or
  // its abort or timeout) cancels it: shutdown waits for that cancel and reports its failure.
  it('during a pending launch: the failed cancel is logged, not swallowed', async () => {
    const cancels = outage('cancel');
    const { cluster: c, warnings } = cluster();
    const manager = new FaultyQueueManager(faultyDriver({ cancel: cancels.file }), 1, { hold: true });
    const launching = c.addprocs(manager, { timeoutMs: 600_000 }).catch((e: Error) => e);
    await waitFor(() => manager.jobIds().length === 1, 20_000, 'the held job to be submitted');
    const [jobId] = manager.jobIds();
    cancels.fail(100);
    try {
      await c.close();
      await launching;
      expect(100 - cancels.left()).toBe(4);
      expect(warnings.join('\n')).toMatch(new RegExp(`could not cancel ${jobId}`));
    } finally {
      cancels.fail(0);
      await execa(process.execPath, [simqPath(), 'cancel', jobId!]);
      await waitUntilGone(simulatedDriver, [jobId!], 20_000);
    }
  }, 60_000);
});
