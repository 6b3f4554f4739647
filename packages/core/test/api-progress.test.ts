// Progress that informs: numbers and the current state in launch-progress events, elapsed
// time on the line, the jobs and their last state in a launch timeout's error, and pmap's
// progress as events and a line.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClusterManager, LaunchError, LocalManager, type LaunchProgressEvent, type PmapProgress } from '../src/index.js';
import { ProgressLine, describeProgress } from '../src/driver.js';
import { SimulatedQueueManager } from '../src/testing/index.js';
import { describePmapProgress } from '../src/cluster/pmap-progress.js';
import { testCluster, waitFor } from './helpers.js';

const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-api-progress-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

/** A manager whose job never starts: it reports a queued job and waits. */
function stuckManager(extra: Partial<ClusterManager> = {}): ClusterManager {
  return {
    name: 'stuck',
    expectedWorkers: 2,
    async launch(context) {
      context.progress({ message: 'stuck job 4711: PENDING (Resources) - 0/2 workers joined', jobIds: ['4711'], state: 'PENDING', reason: 'Resources' });
    },
    ...extra,
  };
}

describe('launch progress', () => {
  it('a launch timeout names the job, its last state and reason', async () => {
    const events: LaunchProgressEvent[] = [];
    const cluster = testCluster();
    cluster.on('launch-progress', (event) => events.push(event));
    const error = await cluster.addprocs(stuckManager(), { timeoutMs: 200 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as Error).message).toBe(
      "stuck launch timed out after 200 ms with 0 of 2 workers joined; last report: stuck job 4711: PENDING (Resources) - 0/2 workers joined; raise addprocs' timeoutMs if the queue is slow",
    );
    expect(events[0]).toMatchObject({ manager: 'stuck', joined: 0, expected: 2, state: 'PENDING', reason: 'Resources', jobIds: ['4711'] });
    expect(events[0]!.elapsedMs).toBeGreaterThanOrEqual(0);
  });

  it('a manager that can describe what is pending is asked instead', async () => {
    const error = await testCluster()
      .addprocs(stuckManager({ describePending: (launchId) => `${launchId}: job 4711 PENDING (QOSMaxJobsPerUserLimit) on partition debug` }), { timeoutMs: 100 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as Error).message).toMatch(/with 0 of 2 workers joined; still pending: L[0-9a-f]+: job 4711 PENDING \(QOSMaxJobsPerUserLimit\) on partition debug; raise/);
  });

  it('a batch launch ends with the scheduler’s running state and full counts, not the last poll’s PENDING', async () => {
    const events: LaunchProgressEvent[] = [];
    const cluster = testCluster({ onOutput: () => {} });
    cluster.on('launch-progress', (event) => events.push(event));
    await cluster.addprocs(new SimulatedQueueManager(2, { logDir, progress: 'none' }));
    const last = events.at(-1)!;
    expect(last).toMatchObject({ manager: 'simq', joined: 2, expected: 2, state: 'RUNNING', reason: undefined });
    expect(last.message).toMatch(/^simq job \d+ \(array of 2\): running - 2\/2 workers joined$/);
    expect(last.states).toEqual([{ state: 'RUNNING', count: 2 }]);
  });

  it('an array’s events count its tasks in each state, with the reason', async () => {
    const events: LaunchProgressEvent[] = [];
    const cluster = testCluster({ onOutput: () => {} });
    cluster.on('launch-progress', (event) => events.push(event));
    const launch = cluster.addprocs(new SimulatedQueueManager(3, { logDir, progress: 'none', hold: true, pollMs: 50, pollMaxMs: 200 }));
    const settled = launch.then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitFor(() => events.some((event) => event.states !== undefined), 10_000, 'a progress event with task counts');
    await cluster.close();
    expect(await settled).toBeInstanceOf(LaunchError);
    const counted = events.find((event) => event.states !== undefined)!;
    expect(counted).toMatchObject({ state: 'HELD', reason: 'JobHeldUser', states: [{ state: 'HELD', reason: 'JobHeldUser', count: 3 }] });
    expect(cluster.snapshot().launches[0]?.jobs[0]?.states).toEqual([{ state: 'HELD', reason: 'JobHeldUser', count: 3 }]);
  });
});

describe('the progress line', () => {
  const capture = (tty: boolean) => {
    const stream = Object.assign(new PassThrough(), { isTTY: tty }) as unknown as NodeJS.WriteStream & PassThrough;
    let written = '';
    stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
    return { stream, written: () => written };
  };

  it('shows the elapsed time between the state and the counts', () => {
    const statuses = [{ jobId: '123', taskIndex: null, state: 'PENDING', reason: 'Resources', kind: 'queued' as const }];
    expect(describeProgress('slurm', '123', statuses, { joined: 0, expected: 8 }, '2m13s')).toBe('slurm job 123: PENDING (Resources) 2m13s - 0/8 workers joined');
  });

  it('plain lines are written when the state changes, not because time passed', () => {
    const out = capture(false);
    const line = new ProgressLine('plain', out.stream);
    const since = performance.now() - 61_000;
    line.update({ render: (elapsed) => `PENDING${elapsed ? ` ${elapsed}` : ''}`, since });
    line.update({ render: (elapsed) => `PENDING${elapsed ? ` ${elapsed}` : ''}`, since: since - 5_000 });
    line.finish({ render: (elapsed) => `RUNNING${elapsed ? ` ${elapsed}` : ''}`, since });
    expect(out.written()).toMatch(/^PENDING 1m0[12]s\nRUNNING 1m0[12]s\n$/);
  });

  it('on a terminal the line is rewritten in place', () => {
    const out = capture(true);
    const line = new ProgressLine('tty', out.stream);
    line.update('one');
    line.update('two');
    line.finish();
    expect(out.written()).toBe('\r\x1b[2Kone\r\x1b[2Ktwo\n');
  });
});

describe('pmap progress', () => {
  it('emits pmap-progress events ending at total', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const events: PmapProgress[] = [];
    cluster.on('pmap-progress', (event) => events.push(event));
    const items = Array.from({ length: 200 }, (_, i) => i);
    expect(await cluster.pmap((x: number) => x * 2, items, { batchSize: 10 })).toEqual(items.map((x) => x * 2));
    expect(events.length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ done: 200, total: 200, workers: 2 });
    for (let i = 1; i < events.length; i++) expect(events[i]!.done).toBeGreaterThanOrEqual(events[i - 1]!.done);
  });

  it('describes itself in one line', () => {
    expect(describePmapProgress({ done: 4_210, total: 10_000, elapsedMs: 12_400, workers: 4 })).toBe('pmap 4,210/10,000 (42%) 12s, 4 workers');
  });
});
