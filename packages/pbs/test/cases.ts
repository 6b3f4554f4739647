/**
 * The PBS cases beyond the shared conformance suite, run against the PBS Pro and the Torque
 * simulators alike: array variables and ids, options reaching qsub, refusals, transient
 * failures, a job killed under its worker, np 1, and nothing left behind (jobs, processes,
 * the secret) after close.
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from '@cm/core';
import { type JobQueueManager } from '@cm/core/driver';
import { waitUntilGone } from '@cm/core/testing';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import type { SchedulerDriver } from '@cm/core/driver';
import { dialectOf } from '../src/index.js';
import { type SimulatorEnv, filesContaining } from './simulator.js';

type Env = SimulatorEnv;
interface Context {
  create: (np: number, options?: Record<string, unknown>) => JobQueueManager;
  cluster: () => Cluster;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Wait (bounded) until the simulator has no live process left. */
async function noProcessesLeft(env: Env): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (env.sim.processes().length > 0) {
    if (Date.now() > deadline) throw new Error(`simulator processes still alive: ${env.sim.processes().join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function pbsCases(context: Context, env: Env, dialect: 'pro' | 'torque'): void {
  const indexVar = dialect === 'pro' ? 'PBS_ARRAY_INDEX' : 'PBS_ARRAYID';
  const arrayFlag = dialect === 'pro' ? '-J' : '-t';

  it(`detects the ${dialect} dialect from qstat --version`, () => {
    expect(dialectOf(context.create(2).driver as SchedulerDriver)).toBe(dialect);
  });

  it(`addprocs of 4: one ${arrayFlag} 1-4 array; pmap sees ${indexVar} 1..4 and PBS_JOBID; workers are tasks 0..3`, async () => {
    const c = context.cluster();
    try {
      const manager = context.create(4);
      const ids = await c.addprocs(manager);
      const [jobId] = manager.jobIds();
      expect(jobId).toMatch(/^\d+\[\]\.\w+$/);
      const seen = await c.pmap(
        (name: string) => ({ index: process.env[name], job: process.env.PBS_JOBID }),
        ids.map(() => indexVar),
      );
      const byWorker = await c.everywhere((name: string) => ({ index: process.env[name], job: process.env.PBS_JOBID }), indexVar);
      expect(new Set(byWorker.map((w) => w.index))).toEqual(new Set(['1', '2', '3', '4']));
      expect(byWorker.map((w) => w.job).sort()).toEqual(['1', '2', '3', '4'].map((i) => jobId!.replace('[]', `[${i}]`)));
      expect(seen.every((s) => s.job?.startsWith(jobId!.split('[')[0]!))).toBe(true);
      for (const id of ids) {
        const worker = c.worker(id);
        expect(byWorker[ids.indexOf(id)]!.index).toBe(String(worker.taskIndex! + 1));
      }
      expect(ids.map((id) => c.worker(id).taskIndex).sort()).toEqual([0, 1, 2, 3]);
      const script = env.sim.submissions().at(-1)!.script as string;
      expect(script).toContain(`#PBS ${arrayFlag} 1-4\n`);
    } finally {
      await c.close();
    }
  });

  it('np 1 works: a plain job on PBS Pro (no one-element -J), task 0', async () => {
    const c = context.cluster();
    try {
      const manager = context.create(1);
      const [id] = await c.addprocs(manager);
      const [jobId] = manager.jobIds();
      expect(c.worker(id!).taskIndex).toBe(0);
      expect(await c.remotecallFetch(id!, () => 6 * 7)).toBe(42);
      const script = env.sim.submissions().at(-1)!.script as string;
      if (dialect === 'pro') {
        expect(jobId).toMatch(/^\d+\.pbs$/);
        expect(script).not.toMatch(/^#PBS -J/m);
        expect(c.worker(id!).jobId).toBe(jobId);
      } else {
        expect(script).toContain('#PBS -t 1-1\n');
      }
      await c.close();
      await waitUntilGone(manager.driver as SchedulerDriver, [jobId!], 20_000);
    } finally {
      await c.close();
    }
  });

  it('typed and free options reach qsub: queue, walltime, cpus, memory, account, project, -m, qsubFlags', async () => {
    const c = context.cluster();
    try {
      const typed = { queue: 'debug', walltime: '00:07:00', cpus: 2, memory: '100mb', account: 'proj1', m: 'n', qsubFlags: ['-p', '5'], ...(dialect === 'pro' ? { project: 'p7' } : {}) };
      const manager = context.create(2, typed);
      await c.addprocs(manager);
      const submission = env.sim.submissions().at(-1)!;
      expect(submission.argv).toEqual(['-p', '5', expect.stringMatching(/\.sh$/)]);
      const job = env.sim.jobs().find((j: { meta: { jobId: string } }) => j.meta.jobId === manager.jobIds()[0])!;
      expect(job.meta).toMatchObject({ queue: 'debug', account: 'proj1', walltimeSeconds: 420, mailPoints: 'n', priority: '5' });
      if (dialect === 'pro') {
        expect(job.meta.project).toBe('p7');
        expect(job.meta.resources).toMatchObject({ select: '1:ncpus=2:mem=100mb', ncpus: '2', walltime: '00:07:00' });
      } else {
        expect(job.meta.resources).toMatchObject({ nodes: '1:ppn=2', mem: '100mb', walltime: '00:07:00' });
      }
      // Walltime awareness: each worker knows when its job ends.
      for (const id of c.workers()) expect(c.worker(id).endsAt! - Date.now()).toBeLessThanOrEqual(7 * 60_000);
    } finally {
      await c.close();
    }
  });

  it('a refused submission names what qsub said and what to do; nothing is queued', async () => {
    const c = context.cluster();
    const before = env.sim.jobs().length;
    env.sim.inject({ submit: { kind: 'refuse' } });
    try {
      const error = await c.addprocs(context.create(2)).then(
        () => undefined,
        (e: Error & { exitCode?: number }) => e,
      );
      expect(error?.name).toBe('SchedulerError');
      expect(error?.message).toMatch(dialect === 'pro' ? /"qsub: Job violates queue and\/or server resource limits"/ : /"qsub: submit error \(Job exceeds queue resource limits\)"/);
      expect(error?.message).toMatch(/check `walltime`, `cpus` and `memory` against the queue's limits/);
      expect(error?.exitCode).toBe(188);
      expect(env.sim.jobs().length).toBe(before);
    } finally {
      env.sim.inject({});
      await c.close();
    }
  });

  it('a transient qsub failure (server unreachable, bad credential) is retried', async () => {
    const c = context.cluster();
    env.sim.inject({ submit: [{ kind: 'transient' }, { kind: 'transient', error: 'credential' }] });
    try {
      const manager = context.create(2, { submitRetryDelays: [50, 50, 50] });
      const progress: string[] = [];
      c.on('launch-progress', (p) => progress.push(p.message));
      await c.addprocs(manager);
      expect(progress.filter((m) => /submission attempt \d failed/.test(m))).toHaveLength(2);
      expect(
        env.sim
          .submissions()
          .slice(-3)
          .map((s: { exitCode: number }) => s.exitCode),
      ).toEqual([dialect === 'pro' ? 162 : 111, 171, 0]);
    } finally {
      env.sim.inject({});
      await c.close();
    }
  });

  it('a job killed under its worker: WorkerLostError carries what qstat says (Exit_status and its meaning)', async () => {
    const c = context.cluster();
    try {
      const manager = context.create(2);
      const ids = await c.addprocs(manager);
      const victim = ids.find((id) => c.worker(id).taskIndex === 1)!;
      const call = c
        .remotecallFetch(victim, () => new Promise(() => {}))
        .then(
          () => undefined,
          (e: Error & { detail?: string }) => e,
        );
      env.sim.killJob(manager.jobIds()[0]!.replace('[]', '[2]'), { exitStatus: dialect === 'pro' ? -29 : -11 });
      const error = await call;
      expect(error?.name).toBe('WorkerLostError');
      expect(error?.detail).toMatch(new RegExp(`pbs job \\d+\\[2\\]\\.\\w+ ended ${dialect === 'pro' ? 'X' : 'C'} .*exceeding its walltime.*exit code ${dialect === 'pro' ? -29 : -11}`));
      // The other worker goes on.
      const other = ids.find((id) => id !== victim)!;
      expect(await c.remotecallFetch(other, () => 'still here')).toBe('still here');
    } finally {
      await c.close();
    }
  });

  it('after close: nothing of ours queued, no process left, the secret in no spooled file and not in qstat -f', async () => {
    const secret = randomBytes(32).toString('base64url');
    const c = new Cluster({ logger: quiet, onOutput: () => {}, secret });
    try {
      const manager = context.create(2);
      await c.addprocs(manager);
      const jobs = manager.jobIds();
      const full = await execa('qstat', dialect === 'pro' ? ['-f', '-x', '-t', ...jobs] : ['-f', '-t', ...jobs], { reject: false });
      expect(full.stdout).toMatch(/Variable_List = /);
      expect(full.stdout).not.toContain(secret);
      await c.close();
      await waitUntilGone(manager.driver as SchedulerDriver, jobs, 20_000);
      await noProcessesLeft(env);
      expect(filesContaining(env.sim.dir, secret)).toEqual([]);
      expect(filesContaining(env.home, secret)).toEqual([]);
      expect(filesContaining(env.logDir, secret)).toEqual([]);
    } finally {
      await c.close();
    }
  });
}
