// Unit tests of the Slurm declaration: flag mapping, script rendering, job-id and status
// parsing, state mapping, option checks and site-config merging. No Slurm needed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '@cm/core';
import { isEnded } from '@cm/core/driver';
import { afterAll, describe, expect, it } from 'vitest';
import { SlurmManager, slurmDriver } from '../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-slurm-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const emptyConfig = path.join(tmp, 'empty.json');
writeFileSync(emptyConfig, '{}');

/** Run `fn` with these variables set (undefined: unset), restoring the environment afterwards. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = { ...process.env };
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return fn();
  } finally {
    process.env = saved;
  }
}

/** A manager that sees no site config of this machine (an empty CM_CONFIG file). */
const manager = (np: number | undefined, options: Record<string, unknown> = {}) =>
  withEnv({ CM_CONFIG: emptyConfig, SLURM_JOB_ID: undefined }, () => new SlurmManager(np, { logDir: '/shared/logs', ...options }));
const directives = (script: string) => script.split('\n').filter((line) => line.startsWith('#SBATCH '));

describe('flag mapping (ClusterManagers.jl rules)', () => {
  it('maps one-letter keys to `-k value`, longer keys to `--key=value`, `_` and camelCase to `-`, "" to a bare flag', () => {
    const flags = directives(manager(1, { w: 'node01', mail_type: 'END', memPerCpu: '2G', exclusive: '', requeue: true, hold: false }).jobScript()).slice(4);
    expect(flags).toEqual(['#SBATCH --exclusive', '#SBATCH --mail-type=END', '#SBATCH --mem-per-cpu=2G', '#SBATCH --requeue', '#SBATCH -w node01']);
  });

  it('puts typed options first in declaration order, then the rest alphabetically, whatever the input order', () => {
    const a = directives(manager(1, { wckey: 1, mem: '1G', partition: 'debug', begin: 'now', time: '10' }).jobScript()).slice(4);
    const b = directives(manager(1, { time: '10', begin: 'now', partition: 'debug', wckey: 1, mem: '1G' }).jobScript()).slice(4);
    expect(a).toEqual(b);
    expect(a).toEqual(['#SBATCH --partition=debug', '#SBATCH --time=10', '#SBATCH --mem=1G', '#SBATCH --begin=now', '#SBATCH --wckey=1']);
  });

  it('refuses an option sbatch does not have, naming the one meant, before anything is rendered', () => {
    expect(() => manager(2, { partiton: 'debug' })).toThrow(/`partiton` is not a slurm option \(did you mean `partition`\?\); pass other slurm flags as words in `submitFlags` \(or `sbatchFlags`\)/);
    expect(() => manager(2, { partition: 'a\nb' })).toThrow(/must be one line/);
  });

  it('puts free flags on the sbatch command line and keeps a backslash intact in a directive', () => {
    const script = manager(1, { sbatchFlags: ['--exclusive'], comment: 'a\\b' }).jobScript();
    // Checked on Slurm 22.05: `'--comment=a\\b'` arrives as `a\b`; `'--comment=a\b'` as `ab`.
    expect(script).toContain("#SBATCH '--comment=a\\\\b'\n");
    expect(script).toMatch(/^# submitted with: sbatch --parsable --exclusive \S+\.sh$/m);
  });

  it('accepts short spellings of typed options and merges them (`p` is `partition`)', () => {
    expect(directives(manager(2, { p: 'short', c: 2 }).jobScript())).toEqual(expect.arrayContaining(['#SBATCH --partition=short', '#SBATCH --cpus-per-task=2']));
  });
});

describe('job script', () => {
  it('renders directives first: name, logs, layout, then options; the worker runs under srun for tasks', () => {
    const script = manager(4, { partition: 'debug', time: '00:10:00', jobName: 'sim', comment: 'two words' }).jobScript();
    expect(directives(script)).toEqual([
      '#SBATCH --job-name=sim',
      '#SBATCH --output=/shared/logs/sim-L000000000000-%j.out',
      '#SBATCH --error=/shared/logs/sim-L000000000000-%j.err',
      '#SBATCH --ntasks=4',
      '#SBATCH --partition=debug',
      '#SBATCH --time=00:10:00',
      "#SBATCH '--comment=two words'",
    ]);
    expect(script).toMatch(/^export CM_TASK_INDEX_VARS=SLURM_PROCID$/m);
    expect(script).toMatch(/^export CM_ENDS_AT=\$\(\( \(\$\(date \+%s\) \+ 600\) \* 1000 \)\)$/m);
    expect(script).toMatch(/^exec srun \S+node \S+\/dist\/worker\/main\.js$/m);
  });

  it('renders a job array with per-task logs, the array task variable and the worker run directly', () => {
    const script = manager(3, { layout: 'array', nodeArgs: ['--max-old-space-size=512'], prologue: ['module load nodejs'] }).jobScript();
    expect(directives(script)).toContain('#SBATCH --array=0-2');
    expect(directives(script)).toContain('#SBATCH --error=/shared/logs/cm-L000000000000-%A_%a.err');
    expect(script).toMatch(/^export CM_TASK_INDEX_VARS=SLURM_ARRAY_TASK_ID$/m);
    expect(script).toMatch(/^export CM_JOB_ID_VARS=SLURM_ARRAY_JOB_ID,SLURM_JOB_ID$/m);
    expect(script).toMatch(/module load nodejs\nexec \S+node --max-old-space-size=512 \S+main\.js\n/);
    expect(script).not.toMatch(/CM_ENDS_AT/);
  });
});

describe('parsing what Slurm prints', () => {
  it('reads the job id from `sbatch --parsable`, with or without a cluster name', () => {
    expect(slurmDriver.submit.parseJobId('1234\n')).toBe('1234');
    expect(slurmDriver.submit.parseJobId('1234;ci\n')).toBe('1234');
    expect(slurmDriver.submit.parseJobId('sbatch: note from the site plugin\n77')).toBe('77');
    expect(slurmDriver.submit.parseJobId('Submitted batch job\n')).toBeUndefined();
  });

  it('parses squeue lines, expanding folded array ranges and dropping the reason `None`', () => {
    const out = ['11|RUNNING|None', '12|PENDING|Priority', '1234_7|RUNNING|None', '1234_[8-10,12]|PENDING|Resources'].join('\n');
    expect(slurmDriver.status.parse({ stdout: out, stderr: '', exitCode: 0 })).toEqual([
      { jobId: '11', taskIndex: null, state: 'RUNNING', reason: undefined },
      { jobId: '12', taskIndex: null, state: 'PENDING', reason: 'Priority' },
      { jobId: '1234', taskIndex: 7, state: 'RUNNING', reason: undefined },
      ...[8, 9, 10, 12].map((taskIndex) => ({ jobId: '1234', taskIndex, state: 'PENDING', reason: 'Resources' })),
    ]);
  });

  it('treats `Invalid job id specified` for a single forgotten id as no lines, and other failures as unknown', () => {
    expect(slurmDriver.status.parse({ stdout: '', stderr: 'slurm_load_jobs error: Invalid job id specified', exitCode: 1 })).toEqual([]);
    expect(slurmDriver.status.parse({ stdout: '', stderr: 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)', exitCode: 1 })).toBeUndefined();
  });

  it('maps every terminal Slurm state to an ended kind, and live ones to live kinds', () => {
    const states = slurmDriver.status.states;
    for (const state of ['COMPLETED', 'FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'CANCELLED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED']) {
      expect(isEnded(states[state]!), state).toBe(true);
    }
    for (const state of ['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'STOPPED']) {
      expect(isEnded(states[state]!), state).toBe(false);
    }
    expect(states.OUT_OF_MEMORY).toBe('out-of-memory');
    expect(states.NODE_FAIL).toBe('node-failure');
  });

  it('retries only transient sbatch failures and gives a hint for refusals', () => {
    expect(slurmDriver.submit.transient!.test('sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)')).toBe(true);
    expect(slurmDriver.submit.transient!.test('sbatch: error: Batch job submission failed: Invalid partition name specified')).toBe(false);
    expect(slurmDriver.submit.hint!('sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified')).toMatch(/check `account`/);
  });
});

describe('validation before anything is submitted', () => {
  it.each([
    [{ ntasks: 4 }, /`ntasks`: the number of workers sets --ntasks/],
    [{ output: '/tmp/x' }, /`output`: job logs go to `logDir`/],
    [{ layout: 'array', nodes: 2 }, /`nodes` shapes one job of tasks/],
    [{ time: '1 hour' }, /`time`: use Slurm's forms: MM, MM:SS, HH:MM:SS/],
    [{ cpusPerTask: 0 }, /`cpusPerTask`/],
    [{ layout: 'grid' }, /`layout`/],
  ])('refuses %j with a message naming the option', (options, message) => {
    expect(() => manager(2, options)).toThrow(UsageError);
    expect(() => manager(2, options)).toThrow(message);
  });

  it('refuses a missing np outside an allocation, and in-allocation mode outside one', () => {
    expect(() => manager(undefined)).toThrow(/number of workers must be a whole number >= 1, got undefined \(it may be left out only inside an allocation\)/);
    expect(() => manager(2, { inAllocation: true })).toThrow(/`inAllocation` needs the master to run inside a slurm allocation/);
  });

  it('inside an allocation, defaults to one worker per task of it', () => {
    const inside = withEnv({ CM_CONFIG: emptyConfig, SLURM_JOB_ID: '77', SLURM_NTASKS: '6' }, () => new SlurmManager());
    expect(inside.expectedWorkers).toBe(6);
    expect(inside.layout).toBe('allocation');
  });
});

describe('site defaults', () => {
  it('merges config files, CM_SLURM_* variables and code, code winning, and names the source of a bad value', () => {
    const file = path.join(tmp, 'site.json');
    writeFileSync(file, JSON.stringify({ batch: { logDir: '/site/logs' }, slurm: { partition: 'compute', account: 'proj1', time: '02:00:00', cpus_per_task: 2 } }));
    const site = { CM_CONFIG: file, CM_SLURM_ACCOUNT: 'proj2', CM_SLURM_QOS: 'high', CM_SLURM_CPUS_PER_TASK: '4', SLURM_JOB_ID: undefined };
    const lines = directives(withEnv(site, () => new SlurmManager(2, { p: 'debug' })).jobScript());
    expect(lines).toEqual(expect.arrayContaining(['#SBATCH --partition=debug', '#SBATCH --account=proj2', '#SBATCH --qos=high', '#SBATCH --time=02:00:00', '#SBATCH --cpus-per-task=4']));
    expect(lines).toContain('#SBATCH --output=/site/logs/cm-L000000000000-%j.out');
    expect(() => withEnv({ ...site, CM_SLURM_CPUS_PER_TASK: 'four' }, () => new SlurmManager(2))).toThrow(/`cpusPerTask` \(from CM_SLURM_CPUS_PER_TASK\)/);
    expect(() => withEnv({ ...site, CM_BATCH_ACCOUNT: 'x' }, () => new SlurmManager(2))).toThrow(/`account` \(from CM_BATCH_ACCOUNT\) is not an option of every scheduler/);
  });
});
