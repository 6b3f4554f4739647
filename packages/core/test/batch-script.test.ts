// What the batch machinery writes and says: job scripts, log paths, progress lines, end
// explanations and scheduler errors.
import { describe, expect, it } from 'vitest';
import { LaunchError, SchedulerError } from '../src/index.js';
import { ProgressLine, describeEnd, describeProgress, logPaths, renderJobScript, schedulerSaid } from '../src/driver.js';
import { simulatedDriver } from '../src/testing/index.js';

const input = {
  driver: simulatedDriver,
  np: 3,
  launchId: 'Labc',
  jobName: 'job',
  logDir: '/logs',
  optionFlags: [['--queue=main'], ['--comment=two words']],
  worker: ['/usr/bin/node', '/cm/dist/worker/main.js'],
  env: { GREETING: "it's here" },
  prologue: ['module load nodejs'],
  walltimeSeconds: undefined,
} as const;

describe('renderJobScript', () => {
  it('writes the shebang, then every directive, then the worker settings, prologue and the worker', () => {
    const script = renderJobScript({ ...input, layout: 'array' });
    expect(script.split('\n').slice(0, 8)).toEqual([
      '#!/bin/bash',
      '#SIMQ --name=job',
      '#SIMQ --output=/logs/job-Labc-%A_%a.out',
      '#SIMQ --error=/logs/job-Labc-%A_%a.err',
      '#SIMQ --array=0-2',
      '#SIMQ --queue=main',
      "#SIMQ '--comment=two words'",
      '#',
    ]);
    expect(script).toContain("export GREETING='it'\\''s here'\n");
    expect(script).toMatch(/export CM_TEE_OUTPUT=1\nexport CM_TASK_INDEX_VARS=SIMQ_ARRAY_TASK_ID\nexport CM_JOB_ID_VARS=SIMQ_ARRAY_JOB_ID,SIMQ_JOB_ID\n/);
    expect(script.endsWith('module load nodejs\nexec /usr/bin/node /cm/dist/worker/main.js\n')).toBe(true);
    expect(script).not.toContain('CM_ENDS_AT');
  });

  it('starts the workers with the layout’s launcher in a job of tasks, and exports the walltime end', () => {
    const script = renderJobScript({ ...input, layout: 'tasks', walltimeSeconds: 90 });
    expect(script).toContain('#SIMQ --ntasks=3\n');
    expect(script).toContain('export CM_ENDS_AT=$(( ($(date +%s) + 90) * 1000 ))\n');
    expect(script).toMatch(/\nexec \S+node \S+simq\.js tasks \/usr\/bin\/node \/cm\/dist\/worker\/main\.js\n$/);
  });

  it('names log files with the scheduler’s placeholders, and resolves them for a known job', () => {
    const where = { driver: simulatedDriver, layout: 'array' as const, launchId: 'Labc', jobName: 'job', logDir: '/logs' };
    expect(logPaths(where).stderr).toBe('/logs/job-Labc-%A_%a.err');
    expect(logPaths(where, { jobId: '12', taskIndex: 4 }).stderr).toBe('/logs/job-Labc-12_4.err');
    expect(logPaths({ ...where, layout: 'tasks' }, { jobId: '12', taskIndex: null }).stdout).toBe('/logs/job-Labc-12.out');
  });
});

describe('progress', () => {
  const status = (state: string, taskIndex: number | null, reason?: string) => ({ jobId: '7', taskIndex, state, reason, kind: 'queued' as const });

  it('says the state and reason of a job, or counts the states of an array, and how many workers joined', () => {
    expect(describeProgress('slurm', '123', undefined, { joined: 0, expected: 8 })).toBe('slurm job 123: submitted - 0/8 workers joined');
    expect(describeProgress('slurm', '123', [status('PENDING', null, 'Resources')], { joined: 0, expected: 8 })).toBe('slurm job 123: PENDING (Resources) - 0/8 workers joined');
    const array = [status('RUNNING', 0), status('PENDING', 1, 'Priority'), status('PENDING', 2, 'Priority')];
    expect(describeProgress('slurm', '7', array, { joined: 1, expected: 3, tasks: 3 })).toBe('slurm job 7 (array of 3): 2 PENDING (Priority), 1 RUNNING - 1/3 workers joined');
  });

  it('says the job runs once every worker has joined, even if the last poll still saw it pending', () => {
    expect(describeProgress('slurm', '123', [status('PENDING', null, 'Resources')], { joined: 8, expected: 8 })).toBe('slurm job 123: running - 8/8 workers joined');
  });

  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
  };

  it('rewrites one line in place on a terminal', () => {
    const { written, stream: tty } = stream(true);
    const line = new ProgressLine('auto', tty);
    line.update('a');
    line.update('a');
    line.update('b');
    line.finish('c');
    expect(written).toEqual(['\r\x1b[2Ka', '\r\x1b[2Kb', '\r\x1b[2Kc', '\n']);
  });

  it('writes plain lines, only when the text changes, elsewhere; nothing with `none`', () => {
    const { written, stream: pipe } = stream(false);
    const line = new ProgressLine('auto', pipe);
    line.update('a');
    line.update('a');
    line.finish('b');
    expect(written).toEqual(['a\n', 'b\n']);
    const silent = stream(false);
    new ProgressLine('none', silent.stream).update('x');
    expect(silent.written).toEqual([]);
  });
});

describe('what ended jobs and failed commands say', () => {
  it('explains an ended job with its state, reason, exit code and what to do', () => {
    expect(describeEnd('slurm', '12_3', { jobId: '12', taskIndex: 3, state: 'TIMEOUT', reason: 'TimeLimit', kind: 'timeout' })).toBe(
      'slurm job 12_3 ended TIMEOUT (TimeLimit): it reached its walltime limit; ask for more time',
    );
    expect(describeEnd('simq', '5', { jobId: '5', taskIndex: null, state: 'FAILED', exitCode: '3', kind: 'failed' })).toBe('simq job 5 ended FAILED, exit code 3: it failed');
  });

  it('makes a SchedulerError (a LaunchError) from a refused command: what it said, what to do, exit code, command line', () => {
    const error = new SchedulerError('sbatch refused the job', {
      scheduler: 'slurm',
      command: ['sbatch', '--parsable', '/home/a b/job.sh'],
      exitCode: 1,
      stderr: 'sbatch: error: invalid partition specified: foo\nsbatch: error: Batch job submission failed: Invalid partition name specified\n',
      hint: 'check `partition`, or set it in the site config',
      expected: 4,
    });
    expect(error).toBeInstanceOf(LaunchError);
    expect(error.name).toBe('SchedulerError');
    expect(error.message.split('\n')[0]).toBe(
      'sbatch refused the job: "Invalid partition name specified" — check `partition`, or set it in the site config (exit code 1; command: sbatch --parsable \'/home/a b/job.sh\')',
    );
    expect(error.message).toContain('--- stderr ---\nsbatch: error: invalid partition specified: foo');
    expect(error).toMatchObject({ exitCode: 1, commandLine: "sbatch --parsable '/home/a b/job.sh'", expected: 4, manager: 'slurm' });
    expect(schedulerSaid('qsub: error: Unknown queue\n')).toBe('Unknown queue');
  });
});
