// LSFManager against the LSF simulator of tooling/simulators (real processes; bsub, bjobs and
// bkill as lsf.md documents them): the shared conformance suite, then LSF's own cases.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, SchedulerError } from '@cm/core';
import { describeBatchDriver, liveJobs, waitUntilGone } from '@cm/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LSFManager, addprocsLsf, lsfDriver } from '../src/index.js';
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

  it('addprocs of 4: one bsub array; pmap returns each worker\'s task index, LSB_JOBID and LSB_JOBINDEX; close leaves nothing', async () => {
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
});
