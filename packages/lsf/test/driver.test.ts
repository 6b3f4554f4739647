// Unit tests of the LSF declaration: flag rendering (the one -J with the throttle), memory
// units, run limits, bsub/bjobs/bkill output parsing, states and termination reasons, option
// checks and did-you-mean, site config. No LSF needed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '@cm/core';
import { execa } from 'execa';
import { classifyStatus, isEnded } from '@cm/core/driver';
import { afterAll, describe, expect, it } from 'vitest';
import { LSFManager, type LSFOptions, createLsfDriver, lsfDriver, memoryIn, parseBjobs, runLimitSeconds, terminationReason, unitFromLsfConf, withMemoryReservation } from '../src/index.js';
import { directiveWord } from '../src/bsub.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-lsf-unit-'));
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

/** A manager that sees no site config and no lsf.conf of this machine. */
const manager = (np: number, options: LSFOptions = {}) => withEnv({ CM_CONFIG: emptyConfig, LSF_ENVDIR: tmp }, () => new LSFManager(np, { logDir: '/shared/logs', ...options }));
const directives = (script: string) => script.split('\n').filter((line) => line.startsWith('#BSUB '));

describe('rendering', () => {
  it('names the job once: the array, its indices from 1 and the throttle are one -J; logs per element', () => {
    const lines = directives(manager(4, { jobName: 'sim', throttle: 4 }).jobScript());
    expect(lines).toEqual(['#BSUB -o /shared/logs/sim-L000000000000-%J_%I.out', '#BSUB -e /shared/logs/sim-L000000000000-%J_%I.err', '#BSUB -J "sim[1-4]%4"']);
    expect(lines.filter((line) => line.startsWith('#BSUB -J'))).toHaveLength(1);
    expect(directives(manager(3).jobScript())).toContain('#BSUB -J "cm[1-3]"');
  });

  it('renders typed options first in declaration order, memory as -M and rusage in one -R, then other bsub options', () => {
    const script = manager(2, {
      x: '',
      resources: 'span[hosts=1]',
      memory: '4GB',
      slots: 2,
      project: 'p1',
      walltime: '1:30',
      queue: 'short',
      memoryUnit: 'MB',
      alloc_flags: 'smt4',
      Jd: 'two words',
      H: false,
    }).jobScript();
    expect(directives(script).slice(3)).toEqual([
      '#BSUB -q short',
      '#BSUB -W 1:30',
      '#BSUB -M 4096',
      '#BSUB -n 2',
      '#BSUB -P p1',
      '#BSUB -R "span[hosts=1] rusage[mem=4096]"',
      '#BSUB -Jd "two words"',
      '#BSUB -alloc_flags smt4',
      '#BSUB -x',
    ]);
  });

  it('puts worker settings in the body: LSB_JOBINDEX counted from 1, LSB_JOBID, the end from -W; no secret', () => {
    const script = manager(2, { walltime: 30 }).jobScript();
    expect(script).toMatch(/^export CM_TASK_INDEX_VARS=LSB_JOBINDEX$/m);
    expect(script).toMatch(/^export CM_TASK_INDEX_BASE=1$/m);
    expect(script).toMatch(/^export CM_JOB_ID_VARS=LSB_JOBID$/m);
    expect(script).toMatch(/^export CM_ENDS_AT=\$\(\( \(\$\(date \+%s\) \+ 1800\) \* 1000 \)\)$/m);
    expect(script).not.toMatch(/CM_SECRET=/);
  });

  it('submits the script on stdin with the free flags (bsubFlags, bsub_flags, submitFlags) on the command line', () => {
    const driver = lsfDriver;
    expect(driver.submit.stdin).toBe('script');
    expect(driver.submit.command('/x/job.sh', ['-app', 'fluent'], { stdoutPath: 'o', stderrPath: 'e' })).toEqual(['bsub', '-app', 'fluent']);
    for (const key of ['bsubFlags', 'bsub_flags', 'submitFlags']) {
      expect(manager(1, { [key]: ['-app', 'fluent'] }).jobScript()).toMatch(/^# submitted with: bsub -app fluent < \(this file\)$/m);
    }
  });
});

describe('limits and units', () => {
  it('converts memory to the site unit, rounding up; a bare number is already in it', () => {
    expect(memoryIn('4GB', 'MB')).toBe(4096);
    expect(memoryIn('4g', 'KB')).toBe(4 * 1024 * 1024);
    expect(memoryIn('1500MB', 'GB')).toBe(2);
    expect(memoryIn('1.5T', 'GB')).toBe(1536);
    expect(memoryIn(8000, 'MB')).toBe(8000);
    expect(memoryIn('8000', 'KB')).toBe(8000);
    expect(memoryIn('lots', 'MB')).toBeUndefined();
  });

  it('uses LSF defaults without a unit (KB for -M, MB for rusage) and the unit of lsf.conf when it names one', () => {
    expect(directives(manager(1, { memory: '2GB' }).jobScript())).toEqual(expect.arrayContaining(['#BSUB -M 2097152', '#BSUB -R "rusage[mem=2048]"']));
    const envDir = mkdtempSync(path.join(tmp, 'conf-'));
    writeFileSync(path.join(envDir, 'lsf.conf'), '# site\nLSF_UNIT_FOR_LIMITS=GB\n');
    expect(unitFromLsfConf({ LSF_ENVDIR: envDir })).toBe('GB');
    const fromConf = withEnv({ CM_CONFIG: emptyConfig, LSF_ENVDIR: envDir }, () => new LSFManager(1, { logDir: '/l', memory: '3GB' }));
    expect(directives(fromConf.jobScript())).toEqual(expect.arrayContaining(['#BSUB -M 3', '#BSUB -R "rusage[mem=3]"']));
    // An ssh hop reads no local lsf.conf: the commands run on another machine.
    const remote = withEnv({ CM_CONFIG: emptyConfig, LSF_ENVDIR: envDir }, () => new LSFManager(1, { logDir: '/l', memory: '3GB', sshCommand: ['ssh', 'login1'] }));
    expect(directives(remote.jobScript())).toContain('#BSUB -M 3145728');
  });

  it("merges the memory reservation into the user's resource string, leaving a mem reservation of theirs alone", () => {
    expect(withMemoryReservation(undefined, 100)).toBe('rusage[mem=100]');
    expect(withMemoryReservation('select[type==X86_64]', 100)).toBe('select[type==X86_64] rusage[mem=100]');
    expect(withMemoryReservation('rusage[swp=50] span[hosts=1]', 100)).toBe('rusage[swp=50,mem=100] span[hosts=1]');
    expect(withMemoryReservation('rusage[mem=7]', 100)).toBe('rusage[mem=7]');
  });

  it('reads run limits as minutes or hours:minutes; a host-normalised one has no wall-clock end', () => {
    expect(runLimitSeconds(90)).toBe(5400);
    expect(runLimitSeconds('1:30')).toBe(5400);
    expect(runLimitSeconds('45')).toBe(2700);
    expect(runLimitSeconds('1:30/hostA')).toBeUndefined();
    expect(manager(1, { walltime: '10/hostA' }).jobScript()).not.toMatch(/CM_ENDS_AT/);
  });
});

describe('#BSUB words', () => {
  it('are quoted the way lsf.md writes them, with double quotes, since bsub knows no escapes', () => {
    const lines = directives(manager(2, { resources: 'span[hosts=1]', Jd: "it's a sweep", G: 'plain' }).jobScript());
    expect(lines).toEqual(expect.arrayContaining(['#BSUB -J "cm[1-2]"', '#BSUB -R "span[hosts=1]"', `#BSUB -Jd "it's a sweep"`, '#BSUB -G plain']));
    expect(directiveWord('say "hi"')).toBe(`'say "hi"'`);
  });
});

describe('parsing what LSF prints', () => {
  it('reads the job id from bsub, also after lines a site or a busy mbatchd prints first', () => {
    const parse = lsfDriver.submit.parseJobId;
    expect(parse('Job <1234> is submitted to default queue <normal>.\n')).toBe('1234');
    expect(parse('Job <77> is submitted to queue <short>.')).toBe('77');
    expect(parse('Cannot connect to LSF. Please wait ...\ndefault values are going to be used\nJob <5> is submitted to queue <q>.\n')).toBe('5');
    expect(parse('Job <abc> is submitted to queue <q>.')).toBeUndefined();
    expect(parse('', '')).toBeUndefined();
    // OpenLava with BSUB_STDERR set: the line is on stderr, stdout is empty (lsf.md §1).
    expect(parse('', 'Job <42> is submitted to default queue <normal>.\n')).toBe('42');
  });

  it('parses the documented bjobs -json layout: elements by JOBINDEX, reasons, exit codes, forgotten ids left out', () => {
    const stdout = `{
  "COMMAND":"bjobs",
  "JOBS":5,
  "RECORDS":[
    {"JOBID":"12","JOBINDEX":"1","STAT":"RUN","EXIT_CODE":"","EXIT_REASON":"","PEND_REASON":""},
    {"JOBID":"12","JOBINDEX":"2","STAT":"PEND","EXIT_CODE":"","EXIT_REASON":"","PEND_REASON":"The job array has reached its job slot limit;"},
    {"JOBID":"12","JOBINDEX":"3","STAT":"EXIT","EXIT_CODE":"140","EXIT_REASON":"job killed after reaching LSF run time limit","PEND_REASON":""},
    {"JOBID":"13","JOBINDEX":"0","STAT":"DONE","EXIT_CODE":"","EXIT_REASON":"","PEND_REASON":""},
    {"JOBID":"14[2]","STAT":"EXIT","EXIT_CODE":"130","EXIT_REASON":"TERM_OWNER: job killed by owner.","PEND_REASON":""},
    {"ERROR":"Job <15> is not found"}
  ]
}`;
    expect(parseBjobs({ stdout, stderr: 'Job <16> is not found', exitCode: 255 })).toEqual([
      { jobId: '12', taskIndex: 1, state: 'RUN', reason: undefined, exitCode: undefined },
      { jobId: '12', taskIndex: 2, state: 'PEND', reason: 'The job array has reached its job slot limit', exitCode: undefined },
      { jobId: '12', taskIndex: 3, state: 'EXIT', reason: 'TERM_RUNLIMIT: job killed after reaching LSF run time limit', exitCode: '140' },
      { jobId: '13', taskIndex: null, state: 'DONE', reason: undefined, exitCode: '0' },
      { jobId: '14', taskIndex: 2, state: 'EXIT', reason: 'TERM_OWNER: job killed by owner.', exitCode: '130' },
    ]);
  });

  it('treats "not found" for every id as no lines, and a daemon that does not answer as unknown', () => {
    expect(parseBjobs({ stdout: '', stderr: 'Job <7> is not found', exitCode: 0 })).toEqual([]);
    expect(parseBjobs({ stdout: '', stderr: 'Job <7> is not found\nJob <8> is not found', exitCode: 255 })).toEqual([]);
    expect(parseBjobs({ stdout: '', stderr: 'batch system daemon not responding ... still trying\nContacting batch daemon: Communication timeout', exitCode: 255 })).toBeUndefined();
    expect(parseBjobs({ stdout: '{ "COMMAND": "bjobs", "JOBS": ', stderr: '', exitCode: 0 })).toBeUndefined();
  });

  it('asks bjobs once for every job, finished ones included, in the JSON form', () => {
    const [shell, flag, , name, full, basic, ...ids] = lsfDriver.status.command(['12', '13']);
    expect([shell, flag, name, full, basic, ids]).toEqual(['sh', '-c', 'sh', 'jobid jobindex stat exit_code exit_reason pend_reason', 'jobid jobindex stat exit_code', ['12', '13']]);
    expect(lsfDriver.cancel.command(['12', lsfDriver.taskJobId('13', 3)])).toEqual(['bkill', '12', '13[3]']);
  });

  it('asks again without the reasons when bjobs refuses a field, and passes a plain answer, its stderr and exit code on', async () => {
    const bin = mkdtempSync(path.join(tmp, 'bjobs-'));
    const calls = path.join(bin, 'calls');
    const record = (extra: string) => `{"COMMAND":"bjobs","JOBS":1,"RECORDS":[{"JOBID":"12","JOBINDEX":"0","STAT":"EXIT","EXIT_CODE":"1"${extra}}]}`;
    const run = async (knowsReasons: boolean) => {
      writeFileSync(calls, '');
      writeFileSync(
        path.join(bin, 'bjobs'),
        [
          '#!/bin/sh',
          `echo "$*" >> '${calls}'`,
          'case " $* " in *exit_reason*) reasons=1 ;; *) reasons=0 ;; esac',
          knowsReasons ? '' : `if [ $reasons = 1 ]; then echo 'exit_reason: Illegal field name.' >&2; exit 255; fi`,
          `if [ $reasons = 1 ]; then echo '${record(',"EXIT_REASON":"TERM_RUNLIMIT: job killed after reaching LSF run time limit","PEND_REASON":""')}'; else echo '${record('')}'; fi`,
          `echo 'Job <13> is not found' >&2; exit 255`,
        ].join('\n'),
        { mode: 0o755 },
      );
      const [file, ...args] = lsfDriver.status.command(['12', '13']);
      const result = await execa(file!, args, { reject: false, env: { PATH: `${bin}:${process.env.PATH}` } });
      const output = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
      return { output, statuses: parseBjobs(output), calls: readFileSync(calls, 'utf8').trim().split('\n').length };
    };
    const rich = await run(true);
    expect(rich).toMatchObject({ calls: 1, output: { stderr: 'Job <13> is not found', exitCode: 255 } });
    expect(rich.statuses).toEqual([{ jobId: '12', taskIndex: null, state: 'EXIT', reason: 'TERM_RUNLIMIT: job killed after reaching LSF run time limit', exitCode: '1' }]);
    const plain = await run(false);
    expect(plain).toMatchObject({ calls: 2, output: { stderr: 'Job <13> is not found', exitCode: 255 } });
    expect(plain.statuses).toEqual([{ jobId: '12', taskIndex: null, state: 'EXIT', reason: undefined, exitCode: '1' }]);
  });

  it('does not ask twice when every id is simply unknown', async () => {
    const bin = mkdtempSync(path.join(tmp, 'bjobs-'));
    const calls = path.join(bin, 'calls');
    writeFileSync(calls, '');
    writeFileSync(path.join(bin, 'bjobs'), ['#!/bin/sh', `echo "$*" >> '${calls}'`, `echo 'Job <12> is not found' >&2`, 'exit 255'].join('\n'), { mode: 0o755 });
    const [file, ...args] = lsfDriver.status.command(['12']);
    const result = await execa(file!, args, { reject: false, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(parseBjobs({ stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode })).toEqual([]);
  });

  it('knows every LSF state: live ones keep the job watched, ended ones end it', () => {
    const states = lsfDriver.status.states;
    for (const state of ['PEND', 'PSUSP', 'RUN', 'USUSP', 'SSUSP', 'UNKWN', 'WAIT']) expect(isEnded(states[state]!), state).toBe(false);
    for (const state of ['DONE', 'PDONE', 'EXIT', 'ZOMBI']) expect(isEnded(states[state]!), state).toBe(true);
    expect(states.PSUSP).toBe('held');
    expect(states.SSUSP).toBe('suspended');
  });

  it('gives EXIT the meaning of its termination reason (walltime, memory, cancelled)', () => {
    const kind = (reason: string | undefined, state = 'EXIT') => classifyStatus(lsfDriver, { jobId: '1', taskIndex: 1, state, reason }).kind;
    expect(kind(terminationReason('job killed after reaching LSF run time limit'))).toBe('timeout');
    expect(kind('TERM_MEMLIMIT: job killed after reaching LSF memory usage limit')).toBe('out-of-memory');
    expect(kind(terminationReason('Job killed by owner'))).toBe('cancelled');
    expect(kind('TERM_CPULIMIT: job killed after reaching LSF CPU usage limit')).toBe('failed');
    expect(kind(undefined)).toBe('failed');
    expect(kind('TERM_RUNLIMIT', 'RUN')).toBe('running');
    expect(terminationReason('-')).toBeUndefined();
    expect(terminationReason('something new')).toBe('something new');
  });

  it('counts a bkill that finds only finished or forgotten jobs as done, and nothing else', () => {
    const done = lsfDriver.cancel.done!;
    expect(done({ stdout: '', stderr: 'Job <12>: Job has already finished', exitCode: 255 })).toBe(true);
    expect(done({ stdout: 'Job <12[1]> is being terminated', stderr: 'Job <12[2]>: Job has already finished\nJob <13>: No matching job found', exitCode: 255 })).toBe(true);
    expect(done({ stdout: '', stderr: 'batch system daemon not responding ... still trying', exitCode: 255 })).toBe(false);
    expect(done({ stdout: '', stderr: '', exitCode: 255 })).toBe(false);
  });

  it('retries only transient bsub failures and names what to check in refusals', () => {
    const { transient, hint } = lsfDriver.submit;
    expect(transient!.test('batch system daemon not responding ... still trying\nContacting batch daemon: Communication timeout. Job not submitted.')).toBe(true);
    expect(transient!.test('Cannot connect to LSF. Please wait ...')).toBe(true);
    expect(transient!.test('badq: No such queue. Job not submitted.')).toBe(false);
    expect(hint!('badq: No such queue. Job not submitted.')).toMatch(/check `queue`/);
    expect(hint!('Too many processors requested. Job not submitted.')).toMatch(/fewer `slots`/);
    expect(hint!('Bad resource requirement syntax. Job not submitted.')).toMatch(/check `resources`/);
    expect(hint!('Request aborted by esub. Job not submitted.')).toMatch(/esub refused/);
  });
});

describe('validation before anything is submitted', () => {
  it.each([
    [{ queu: 'short' }, /`queu` is not a lsf option \(did you mean `queue`\?\); pass other lsf flags as words in `submitFlags` \(or `bsubFlags`\)/],
    [{ walltim: 30 }, /did you mean `walltime`/],
    [{ o: '/tmp/x' }, /`o`: job logs go to `logDir`/],
    [{ Is: '' }, /`Is`: interactive jobs cannot start workers/],
    [{ K: '' }, /`K`: bsub -K waits for the job to end/],
    [{ pack: 'f' }, /`pack`: @cm submits its own job script on stdin/],
    [{ walltime: '1 hour' }, /`walltime`: use LSF's run limit forms/],
    [{ memory: 'lots' }, /`memory`: use a size like "4GB"/],
    [{ slots: 0 }, /`slots`/],
    [{ throttle: 0 }, /`throttle`/],
    [{ memoryUnit: 'KiB' }, /`memoryUnit`/],
    [{ retryDelays: [-1] }, /`submitRetryDelays\.0`/],
  ])('refuses %j with a message naming the option', (options, message) => {
    expect(() => manager(4, options as LSFOptions)).toThrow(UsageError);
    expect(() => manager(4, options as LSFOptions)).toThrow(message);
  });

  it('takes ClusterManagers.jl keywords and bsub letters as the options they are', () => {
    const m = manager(2, { ssh_cmd: ['ssh', 'login1'], retry_delays: [10, 20], q: 'short', W: 5, M: 100, n: 2, P: 'p', R: 'span[hosts=1]', J: 'jl', memoryUnit: 'MB' });
    expect(m.runner.where).toBe('through `ssh login1`');
    expect(directives(m.jobScript())).toEqual([
      '#BSUB -o /shared/logs/jl-L000000000000-%J_%I.out',
      '#BSUB -e /shared/logs/jl-L000000000000-%J_%I.err',
      '#BSUB -J "jl[1-2]"',
      '#BSUB -q short',
      '#BSUB -W 5',
      '#BSUB -M 100',
      '#BSUB -n 2',
      '#BSUB -P p',
      '#BSUB -R "span[hosts=1] rusage[mem=100]"',
    ]);
  });

  it('reads site defaults (config file, CM_LSF_* variables) under the code, settings included', () => {
    const file = path.join(tmp, 'site.json');
    writeFileSync(file, JSON.stringify({ lsf: { queue: 'normal', project: 'proj1', memory_unit: 'GB', throttle: 8 } }));
    const site = { CM_CONFIG: file, CM_LSF_PROJECT: 'proj2', CM_LSF_WALLTIME: '60', LSF_ENVDIR: tmp };
    const lines = directives(withEnv(site, () => new LSFManager(4, { logDir: '/l', q: 'short', memory: '2GB' })).jobScript());
    expect(lines).toEqual(expect.arrayContaining(['#BSUB -J "cm[1-4]%8"', '#BSUB -q short', '#BSUB -P proj2', '#BSUB -W 60', '#BSUB -M 2']));
    expect(() => withEnv({ ...site, CM_LSF_THROTTLE: 'many' }, () => new LSFManager(4, { logDir: '/l' }))).toThrow(/`throttle` \(from CM_LSF_THROTTLE\)/);
  });

  it('a throttle below np: addprocs waits for the K elements LSF runs at once, the rest join later', () => {
    const throttled = manager(4, { throttle: 2 });
    expect(throttled.expectedWorkers).toBe(2);
    expect(throttled.submittedWorkers).toBe(4);
    expect(throttled.acceptsLateWorkers).toBe(true);
    expect(directives(throttled.jobScript())).toContain('#BSUB -J "cm[1-4]%2"');
  });

  it('builds a driver with a throttle and a unit of its own for third-party tools', () => {
    const driver = createLsfDriver({ throttle: 3, memoryUnit: 'GB' });
    expect(driver.layouts.array!.flags({ np: 5, jobName: 'x', options: {} })).toEqual([['-J', 'x[1-5]%3']]);
    expect(driver.optionFlags!({ memory: '2048MB' })).toEqual([
      ['-M', '2'],
      ['-R', 'rusage[mem=2]'],
    ]);
  });
});
