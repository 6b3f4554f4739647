// QRSHManager against the real single-node Grid Engine of tooling/schedulers/gridengine.sh:
// one `qrsh -now no -V` per worker. Gated by gridEngineIsUp(): skipped locally when it is not
// up, failing under CI=true.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeBatchDriver } from '@cm/core/testing';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { QRSHManager, addprocsQrsh } from '../src/index.js';
import { allJobs, clusters, deleteNamed, leftover, qstatJ } from './helpers.js';
import { gridEngineIsUp } from './sge-gate.js';

const up = gridEngineIsUp();
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-qrsh-test-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));
// qrsh names a job after its command; -N names ours, one name per test, so a test finds
// exactly its own jobs (a qrsh job stays listed 1-3 s after its qrsh ended).
const names: string[] = [];
const named = (tag: string) => {
  const jobName = `cmq${tag}${process.pid}`;
  names.push(jobName);
  return { jobName, options: { walltime: '00:10:00', logDir, progress: 'none' as const, qrshFlags: ['-N', jobName] } };
};
const base = named('conf').options;

describe.skipIf(!up)('Grid Engine qrsh (real)', () => {
  // No queue of its own: the queued-job cases (timeout while pending, SIGINT of a queued job) do not apply.
  describeBatchDriver({ describe, it }, { name: 'qrsh', create: (np, options) => new QRSHManager(np, options), baseOptions: base, timeoutMs: 90_000 });

  const open = clusters();
  afterEach(async () => {
    await open.closeAll();
    await deleteNamed(names);
  });

  it('addprocs of 4: a qrsh job each, output through the connection, worker ends with its qrsh, nothing left after close', async () => {
    const { jobName, options } = named('four');
    const output: string[] = [];
    const c = open.open(undefined, (_id, stream, line) => output.push(`${stream}: ${line}`));
    const ids = await addprocsQrsh(c, 4, options);
    expect(ids.map((id) => c.worker(id).taskIndex).sort()).toEqual([0, 1, 2, 3]);
    const seen = await c.everywhere(() => ({ job: process.env.JOB_ID ?? '', task: process.env.SGE_TASK_ID, ends: process.env.CM_ENDS_AT }));
    const jobIds = seen.map((s) => s.job);
    expect(new Set(jobIds).size).toBe(4);
    for (const s of seen) {
      expect(s.task).toBe('undefined');
      expect(Number(s.ends) - Date.now()).toBeGreaterThan(9 * 60_000);
    }
    const pmapped = await c.pmap(() => process.env.JOB_ID, [1, 2, 3, 4, 5, 6]);
    await c.everywhere(() => console.log(`hello from qrsh job ${process.env.JOB_ID}`));
    await expect.poll(() => output.filter((line) => line.startsWith('stdout: hello from qrsh job')).length, { timeout: 10_000 }).toBe(4);
    for (const job of pmapped) expect(jobIds).toContain(job);
    await c.close();
    expect(await leftover({ ids: jobIds, name: jobName })).toEqual([]);
  });

  it('honours wd', async () => {
    const c = open.open();
    const wd = path.join(logDir, 'qrsh wd');
    mkdirSync(wd);
    await addprocsQrsh(c, 1, { ...named('wd').options, wd });
    expect(await c.everywhere(() => process.cwd())).toEqual([wd]);
  });

  it('an invalid queue is a clear error from qrsh, and nothing is queued', async () => {
    const { jobName, options } = named('badq');
    const c = open.open();
    const error = await addprocsQrsh(c, 2, { ...options, queue: 'nope' }, { timeoutMs: 60_000 }).then(
      () => undefined,
      (e: Error & { stderrTail?: string }) => e,
    );
    expect(error?.name).toBe('LaunchError');
    expect(error?.message).toMatch(/^sge: `qrsh -now no -V -q nope .*` \(worker \d\) exited with code 1 before its workers joined \(0 of 2 joined\) — check `queue`/);
    expect((error as { stderrTail?: string }).stderrTail).toMatch(/Job was rejected because job requests unknown queue "nope"/);
    expect((await allJobs()).filter((job) => job.name === jobName)).toEqual([]);
  });

  it('a wd missing on the node is a clear error naming it', async () => {
    const c = open.open();
    const error = await addprocsQrsh(c, 1, { ...named('nowd').options, wd: '/nonexistent/cm-qrsh-test' }, { timeoutMs: 60_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/exited with code 1 before its workers joined \(0 of 1 joined\) — check `wd`: it must exist on the compute nodes/);
  });

  // A qrsh still waiting in the queue ignores SIGTERM and leaves its job queued when
  // SIGKILLed; only SIGINT deletes it — the driver's `stopSignal`. (afterEach deletes the jobs
  // a failure leaves.)
  it('a launch that cannot start in time is stopped: no qrsh job is left', async () => {
    const { jobName, options } = named('wait');
    const c = open.open();
    // Valid, but the queue's h_rt (10 min) refuses it: the qrsh job waits forever.
    const error = await addprocsQrsh(c, 2, { ...options, queue: 'short.q', walltime: '00:20:00' }, { timeoutMs: 4_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/sge launch timed out after 4000 ms with 0 of 2 workers joined/);
    expect(await leftover({ name: jobName })).toEqual([]);
  });

  it("Ctrl-C (SIGINT to the master's process group) ends the master the conventional way and leaves no qrsh job", async () => {
    const master = fileURLToPath(new URL('./fixtures/qrsh-master.mjs', import.meta.url));
    // Never runnable (the queue's h_rt is 10 min): the qrsh jobs wait in qw until interrupted.
    const { jobName, options } = named('int');
    const child = execa(process.execPath, [master, JSON.stringify({ ...options, queue: 'short.q', walltime: '00:20:00' })], { reject: false, all: true, detached: true, cwd: path.dirname(master) });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('STARTED') && resolve());
        void child.then((result) => reject(new Error(`the master exited before starting qrsh: ${String(result.all)}`)));
      });
      await expect.poll(async () => (await allJobs()).filter((job) => job.name === jobName && job.state === 'qw').length, { timeout: 15_000 }).toBe(2);
      // A terminal's Ctrl-C reaches the whole foreground process group: the master and its qrsh commands.
      process.kill(-child.pid!, 'SIGINT');
      const result = await child;
      expect(result.signal === 'SIGINT' || result.exitCode === 130, `master ended by ${String(result.signal)} / ${String(result.exitCode)}: ${String(result.all)}`).toBe(true);
      expect(await leftover({ name: jobName })).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT');
      await child;
    }
  });

  it('the secret appears nowhere in qstat -j of the qrsh jobs (which carry the environment: -V)', async () => {
    const secret = randomBytes(32).toString('base64url');
    const c = open.open(secret);
    await addprocsQrsh(c, 2, named('secret').options);
    const jobIds = await c.everywhere(() => process.env.JOB_ID ?? '');
    for (const jobId of jobIds) {
      const detail = await qstatJ(jobId);
      expect(detail).toMatch(/env_list:.*CM_SECRET_FILE=/);
      expect(detail).not.toContain(secret);
    }
  });
});
