// Against SchedMD's Torque-compatible qsub/qstat/qdel (slurm-wlm-torque) over the real
// single-node Slurm: a real site variant (local-schedulers.md). Gated by torqueWrappersBin():
// skipped locally when they are not installed, failing under CI=true.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from '@cm/core';
import { type SchedulerDriver } from '@cm/core/driver';
import { waitUntilGone } from '@cm/core/testing';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { PBSManager, dialectOf } from '../src/index.js';
import { torqueWrappersBin } from './torque-wrappers-gate.js';

const bin = torqueWrappersBin();
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-pbs-wrappers-'));
const savedPath = process.env.PATH;
if (bin) process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(logDir, { recursive: true, force: true });
});
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
// Slurm's partition is `debug`; `-l walltime` becomes sbatch --time.
const base = { logDir, queue: 'debug', walltime: '00:10:00', progress: 'none' as const };

describe.skipIf(!bin)('Torque-compatible wrappers over Slurm (real)', () => {
  it('is detected as the torque-slurm dialect from qstat --version', () => {
    expect(dialectOf(new PBSManager(2, base).driver as SchedulerDriver)).toBe('torque-slurm');
  });

  it('addprocs of 2: pmap sees the Slurm array task ids 1..2 as tasks 0..1; close leaves nothing in the queue', async () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {} });
    try {
      const manager = new PBSManager(2, base);
      const ids = await c.addprocs(manager);
      const [jobId] = manager.jobIds();
      expect(jobId).toMatch(/^\d+$/);
      const seen = await c.everywhere(() => ({ task: process.env.SLURM_ARRAY_TASK_ID, array: process.env.SLURM_ARRAY_JOB_ID, pbs: process.env.PBS_ARRAYID ?? null }));
      expect(seen.map((s) => s.task).sort()).toEqual(['1', '2']);
      expect(new Set(seen.map((s) => s.array))).toEqual(new Set([jobId]));
      expect(seen.every((s) => s.pbs === null)).toBe(true);
      expect(ids.map((id) => c.worker(id).taskIndex).sort()).toEqual([0, 1]);
      expect(ids.map((id) => c.worker(id).jobId)).toEqual([jobId, jobId]);
      expect(await c.pmap((x: number) => x + 1, [1, 2, 3, 4])).toEqual([2, 3, 4, 5]);
      await c.close();
      await waitUntilGone(manager.driver as SchedulerDriver, [jobId!], 30_000);
      expect((await execa('squeue', ['--noheader', '--array', `--jobs=${jobId}`], { reject: false })).stdout.trim()).toBe('');
    } finally {
      await c.close();
    }
  });

  it('an invalid queue is refused with sbatch’s words; nothing is queued', async () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {} });
    const name = `cmbad${process.pid}`;
    try {
      const error = await c.addprocs(new PBSManager(2, { ...base, queue: 'nope', jobName: name })).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name).toBe('SchedulerError');
      expect(error?.message).toMatch(/sbatch \(behind the Torque-compatible qsub\) said "Invalid partition name specified": check `queue`/);
      expect((await execa('squeue', ['--noheader', `--name=${name}`, '--states=all'])).stdout).toBe('');
    } finally {
      await c.close();
    }
  });
});
