// Unit tests of the PBS declarations: rendering in each dialect, parsing what PBS prints
// (the documented outputs of pbs.md), state tables, option checks. No PBS needed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '@cm/core';
import { classifyStatus, isEnded } from '@cm/core/driver';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { PBSManager, PBS_PRO_STATES, TORQUE_STATES, parseProJson, parseTorqueText, parseWalltime, pbsProDriver, splitJobId, torqueDriver, torqueSlurmDriver } from '../src/index.js';
import { dialectFromVersion } from '../src/status.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-pbs-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const emptyConfig = path.join(tmp, 'empty.json');
writeFileSync(emptyConfig, '{}');

/** A manager that sees no site config and no PBS on PATH (the dialect is given). */
function manager(np: number, options: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, { CM_CONFIG: emptyConfig, ...env });
  try {
    return new PBSManager(np, { logDir: '/shared/logs', dialect: 'pro', ...options });
  } finally {
    process.env = saved;
  }
}
const directives = (script: string) => script.split('\n').filter((line) => line.startsWith('#PBS '));
const out = (stdout: string, exitCode = 0, stderr = '') => ({ stdout, stderr, exitCode });

describe('rendering', () => {
  it('PBS Pro: -N, -o/-e with ^array_index^, -J 1-N, then typed options as -q/-A/-P and select=', () => {
    const script = manager(4, { queue: 'workq', walltime: 5400, cpus: 2, memory: '4GB', account: 'a1', project: 'p1', m: 'abe' }).jobScript();
    expect(directives(script)).toEqual([
      '#PBS -N cm',
      // Quoted: qsub reads `#PBS` words as a shell does (qsub_sup.c); `^` is quoted to be safe.
      "#PBS -o '/shared/logs/cm-L000000000000-^array_index^.out'",
      "#PBS -e '/shared/logs/cm-L000000000000-^array_index^.err'",
      '#PBS -J 1-4',
      '#PBS -q workq',
      '#PBS -A a1',
      '#PBS -P p1',
      '#PBS -l walltime=01:30:00',
      '#PBS -l select=1:ncpus=2:mem=4gb',
      '#PBS -m abe',
    ]);
    expect(script).toMatch(/^export CM_TASK_INDEX_VARS=PBS_ARRAY_INDEX$/m);
    expect(script).toMatch(/^export CM_TASK_INDEX_BASE=1$/m);
    expect(script).toMatch(/^export CM_JOB_ID_VARS=PBS_ARRAY_ID,PBS_JOBID$/m);
    expect(script).toMatch(/^export CM_ENDS_AT=\$\(\( \(\$\(date \+%s\) \+ 5400\) \* 1000 \)\)$/m);
    expect(script).toMatch(/^# submitted with: qsub \S+\.sh$/m);
  });

  it('PBS Pro np 1: a plain job, no -J, task 0 set directly', () => {
    const script = manager(1).jobScript();
    expect(directives(script).some((line) => line.startsWith('#PBS -J'))).toBe(false);
    expect(script).toMatch(/^export CM_TASK_INDEX=0$/m);
  });

  it('Torque: -t 1-N, nodes=1:ppn= and mem=, PBS_ARRAYID, the array id derived from PBS_JOBID', () => {
    const script = manager(3, { dialect: 'torque', cpus: 4, memory: '2gb', qsubFlags: ['-W', 'group_list=g'] }).jobScript();
    expect(directives(script)).toEqual(expect.arrayContaining(['#PBS -t 1-3', '#PBS -l nodes=1:ppn=4', '#PBS -l mem=2gb']));
    expect(script).toMatch(/^export CM_TASK_INDEX_VARS=PBS_ARRAYID,SLURM_ARRAY_TASK_ID$/m);
    expect(script).toMatch(/^export CM_JOB_ID_VARS=CM_PBS_ARRAY_JOB_ID,SLURM_ARRAY_JOB_ID$/m);
    expect(script).toContain(`export CM_PBS_ARRAY_JOB_ID="$(printf '%s' "\${PBS_JOBID:-}" | sed 's/\\[[0-9]*\\]/[]/')"`);
    expect(script).toMatch(/^# submitted with: qsub -W group_list=g \S+\.sh$/m);
  });

  it('Torque wrappers over Slurm: logs on the qsub command line with sbatch placeholders', () => {
    const argv = torqueSlurmDriver.submit.command('/l/cm-L1.sh', ['-V'], { stdoutPath: '/l/cm-L1-%A_%a.out', stderrPath: '/l/cm-L1-%A_%a.err' });
    expect(argv).toEqual(['qsub', '-V', '-o', '/l/cm-L1-%A_%a.out', '-e', '/l/cm-L1-%A_%a.err', '/l/cm-L1.sh']);
    expect(torqueSlurmDriver.layouts.array!.taskIndexVars[0]).toBe('SLURM_ARRAY_TASK_ID');
  });
});

describe('parsing what PBS prints', () => {
  it('reads qsub ids: server-suffixed, array and bare (wrappers over Slurm)', () => {
    expect(pbsProDriver.submit.parseJobId('1234.pbs-server\n')).toBe('1234.pbs-server');
    expect(pbsProDriver.submit.parseJobId('1234[].pbs-server\n')).toBe('1234[].pbs-server');
    expect(torqueSlurmDriver.submit.parseJobId('20\n')).toBe('20');
    expect(pbsProDriver.submit.parseJobId('qsub: waiting for job to start\n')).toBeUndefined();
    expect(splitJobId('1234[7].srv')).toEqual({ jobId: '1234[].srv', taskIndex: 7 });
    expect(pbsProDriver.taskJobId('1234[].srv', 3)).toBe('1234[3].srv');
    expect(pbsProDriver.taskJobId('1234.srv', 1)).toBe('1234.srv');
  });

  it('parses qstat -f -F json: subjobs as tasks, the parent dropped, comment and Exit_status as reason; 153 still counts', () => {
    const json = JSON.stringify({
      timestamp: 1630683518,
      pbs_version: '19.0.0',
      pbs_server: 'pbs',
      Jobs: {
        '12[].pbs': { job_state: 'B', comment: 'Job Array Began' },
        '12[1].pbs': { job_state: 'R' },
        '12[2].pbs': { job_state: 'X', Exit_status: -29, comment: 'Job run at Mon and exceeded resource walltime' },
        '13.pbs': { job_state: 'Q', comment: 'Not Running: Insufficient amount of resource: ncpus' },
      },
    });
    const lines = parseProJson(out(json, 153, 'qstat: Unknown Job Id 99.pbs'))!;
    expect(lines.map((l) => [l.jobId, l.taskIndex, l.state])).toEqual([
      ['12[].pbs', 1, 'R'],
      ['12[].pbs', 2, 'X'],
      ['13.pbs', null, 'Q'],
    ]);
    expect(lines[1]!.reason).toMatch(/exceeded resource walltime; killed for exceeding its walltime/);
    expect(classifyStatus(pbsProDriver, lines[1]!).kind).toBe('timeout');
    expect(lines[2]!.reason).toMatch(/Insufficient amount of resource/);
  });

  it('treats a prologue-only answer as no jobs, and a server that is down as unknown', () => {
    expect(parseProJson(out('{"timestamp":1,"pbs_version":"23","pbs_server":"pbs"}', 153, 'qstat: Unknown Job Id 12.pbs'))).toEqual([]);
    expect(parseProJson(out('{"timestamp":1,"pbs_version":"23","pbs_server":"pbs"}', 255, 'Connection refused\nqstat: cannot connect to server pbs (errno=15010)'))).toBeUndefined();
  });

  it('a server without job history (qstat -x refused, nothing listed, exit 0) is not "every job gone"', () => {
    // pbs.md §3: `-x` without job_history_enable prints the prologue, says so per id, and exits 0.
    const said = 'qstat: PBS is not configured to maintain job history 12[].pbs\nqstat: PBS is not configured to maintain job history 13.pbs';
    expect(parseProJson(out('{"timestamp":1,"pbs_version":"23","pbs_server":"pbs"}', 0, said))).toBeUndefined();
  });

  it('asks PBS Pro with -x, and again without it when the server keeps no history; passes exit and stderr on', async () => {
    const bin = mkdtempSync(path.join(tmp, 'qstat-'));
    const qstat = path.join(bin, 'qstat');
    const prologue = '{"timestamp":1,"pbs_version":"23","pbs_server":"pbs"';
    const run = async (history: boolean) => {
      writeFileSync(
        qstat,
        [
          '#!/bin/sh',
          `history=${history ? 1 : 0}`,
          'case " $* " in *" -x "*) x=1 ;; *) x=0 ;; esac',
          `if [ $x = 1 ] && [ $history = 0 ]; then echo '${prologue}}'; for id; do case $id in -*|json) ;; *) echo "qstat: PBS is not configured to maintain job history $id" >&2 ;; esac; done; exit 0; fi`,
          `if [ $x = 1 ]; then echo '${prologue},"Jobs":{"12[1].pbs":{"job_state":"F","Exit_status":0},"12[2].pbs":{"job_state":"R"}}}'; echo 'qstat: Unknown Job Id 13.pbs' >&2; exit 153; fi`,
          `echo '${prologue},"Jobs":{"12[2].pbs":{"job_state":"R"}}}'; echo 'qstat: Unknown Job Id 13.pbs' >&2; exit 153`,
        ].join('\n'),
        { mode: 0o755 },
      );
      const [file, ...args] = pbsProDriver.status.command(['12[].pbs', '13.pbs']);
      const result = await execa(file!, args, { reject: false, env: { PATH: `${bin}:${process.env.PATH}` } });
      return {
        output: { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode },
        statuses: parseProJson({ stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode }),
      };
    };
    const kept = await run(true);
    expect(kept.output.exitCode).toBe(153);
    expect(kept.output.stderr).toBe('qstat: Unknown Job Id 13.pbs');
    expect(kept.statuses?.map((s) => [s.jobId, s.taskIndex, s.state])).toEqual([
      ['12[].pbs', 1, 'F'],
      ['12[].pbs', 2, 'R'],
    ]);
    const none = await run(false);
    expect(none.statuses?.map((s) => [s.jobId, s.taskIndex, s.state])).toEqual([['12[].pbs', 2, 'R']]);
  });

  it('parses Torque qstat -f text (wrapped values) and the wrappers’ TAB form', () => {
    const torque =
      'Job Id: 7[1].torque\n    Job_Name = cm-1\n    job_state = C\n    Variable_List = PBS_O_QUEUE=batch,\n\tPBS_O_HOME=/root\n    exit_status = 271\n\nJob Id: 7[2].torque\n    job_state = R\n\n';
    const lines = parseTorqueText(out(torque), 'torque')!;
    expect(lines.map((l) => [l.jobId, l.taskIndex, l.state, l.exitCode])).toEqual([
      ['7[].torque', 1, 'C', '271'],
      ['7[].torque', 2, 'R', undefined],
    ]);
    expect(classifyStatus(torqueDriver, lines[0]!).kind).toBe('cancelled');
    expect(lines[0]!.reason).toMatch(/SIGTERM: cancelled \(qdel\)/);
    const wrapper = 'Job Id:\t25\n\tJob_Name = arr\n\tjob_state = R\n\tqueue = debug\n\n';
    expect(parseTorqueText(out(wrapper), 'torque-slurm')).toEqual([{ jobId: '25', taskIndex: null, state: 'R', reason: undefined, exitCode: undefined }]);
    expect(parseTorqueText(out('', 153), 'torque-slurm')).toEqual([]);
    expect(parseTorqueText(out('', 111, 'qstat: cannot connect to server torque (errno=111) Connection refused'), 'torque')).toBeUndefined();
  });

  it('maps every state letter to the right kind', () => {
    expect(Object.fromEntries(Object.entries(PBS_PRO_STATES).map(([s, kind]) => [s, isEnded(kind)]))).toEqual({
      Q: false,
      W: false,
      T: false,
      H: false,
      R: false,
      E: false,
      B: false,
      S: false,
      U: false,
      X: true,
      F: true,
      M: true,
    });
    expect(PBS_PRO_STATES.H).toBe('held');
    expect(PBS_PRO_STATES.S).toBe('suspended');
    expect(Object.keys(TORQUE_STATES).filter((s) => isEnded(TORQUE_STATES[s]!))).toEqual(['C']);
  });

  it('tells the dialect from qstat --version', () => {
    expect(dialectFromVersion(out('pbs_version = 23.06.06\n'))).toBe('pro');
    expect(dialectFromVersion(out('', 0, 'Version: 6.1.3\nCommit: \n'))).toBe('torque');
    expect(dialectFromVersion(out('', 2, 'Unknown option: version\nUsage:\n    qstat [-f]'))).toBe('torque-slurm');
    expect(dialectFromVersion(out('', 2, 'qstat: invalid option'))).toBeUndefined();
  });

  it('counts a qdel of jobs already gone as done, and nothing else', () => {
    expect(pbsProDriver.cancel.done!(out('', 35, 'qdel: Job has finished 12.pbs'))).toBe(true);
    expect(torqueDriver.cancel.done!(out('', 153, 'qdel: Unknown Job Id Error 12.torque'))).toBe(true);
    // pbs.md §4: already exiting (168); OpenPBS req_delete.c answers a finished subjob with PBSE_NOHISTARRAYSUBJOB.
    expect(pbsProDriver.cancel.done!(out('', 168, 'qdel: Request invalid for state of job 12[2].pbs'))).toBe(true);
    expect(pbsProDriver.cancel.done!(out('', 55, 'qdel: Request invalid for finished array subjob 12[3].pbs\nqdel: Unknown Job Id 13.pbs'))).toBe(true);
    expect(pbsProDriver.cancel.done!(out('', 1, 'qdel: illegally formed job identifier: 12[x]'))).toBe(false);
    expect(pbsProDriver.cancel.done!(out('', 162, 'Connection refused\nqdel: cannot connect to server pbs (errno=15010)'))).toBe(false);
    expect(torqueSlurmDriver.cancel.done!(out('', 1))).toBe(true);
  });

  it('retries what is transient, and hints at the fix for refusals', () => {
    const transient = pbsProDriver.submit.transient!;
    expect(transient.test('qsub: Invalid credential')).toBe(true);
    expect(transient.test('Connection refused\nqsub: cannot connect to server pbs (errno=15010)')).toBe(true);
    expect(transient.test('qsub: Unknown queue')).toBe(false);
    expect(pbsProDriver.submit.hint!('qsub: node(s) specification error')).toMatch(/check `cpus`, `memory`/);
    expect(torqueDriver.submit.hint!('qsub: submit error (Unknown queue MSG=requested queue not found)')).toMatch(/check `queue`/);
    const wrapper =
      "There was an error running the Slurm sbatch command.\nThe command was:\n'sbatch -p nope x.sh 2>&1'\nand the output was:\n'sbatch: error: invalid partition specified: nope\n sbatch: error: Batch job submission failed: Invalid partition name specified\n'";
    expect(torqueSlurmDriver.submit.hint!(wrapper)).toBe(
      'sbatch (behind the Torque-compatible qsub) said "Invalid partition name specified": check `queue` (`qstat -Q` lists the queues), or set it in the site config (section "pbs")',
    );
  });
});

describe('options, checked before anything is submitted', () => {
  it('parses walltimes as PBS does', () => {
    expect(parseWalltime('01:30:00')).toBe(5400);
    expect(parseWalltime('10:00')).toBe(600);
    expect(parseWalltime('90')).toBe(90);
    expect(parseWalltime('1h')).toBeUndefined();
    expect(manager(2, { l: 'walltime=00:02:00,software=x' }).jobScript()).toMatch(/\+ 120\) \* 1000/);
  });

  it.each([
    [{ J: '1-4' }, /`J`: the number of workers sets the array/],
    [{ o: '/tmp/x' }, /`o`: job logs go to `logDir`/],
    [{ z: '' }, /`z`: @cm reads the job id qsub prints/],
    [{ W: 'block=true' }, /`W`: `block=true` makes qsub wait/],
    [{ walltime: '1 hour' }, /`walltime`: use PBS's form HH:MM:SS/],
    [{ memory: '4G' }, /`memory`: use a PBS size such as "4gb"/],
    [{ cpus: 0 }, /`cpus`/],
    [{ dialect: 'torque', project: 'p' }, /`project` \(`-P`\) is PBS Pro's/],
    [{ dialect: 'torque', R: 'oe' }, /`R` is not a qsub option of Torque/],
    [{ dialect: 'pbspro' }, /`dialect`/],
    [{ layout: 'tasks' }, /pbs does not support layout 'tasks'; use one of: array/],
  ])('refuses %j with a message naming the option', (options, message) => {
    expect(() => manager(2, options)).toThrow(UsageError);
    expect(() => manager(2, options)).toThrow(message);
  });

  it('refuses a name qsub does not have, naming the one meant', () => {
    expect(() => manager(2, { queu: 'workq' })).toThrow(/`queu` is not a pbs option \(did you mean `queue`\?\); pass other pbs flags as words in `submitFlags` \(or `qsubFlags`\)/);
    expect(() => manager(2, { walltim: '1:00:00' })).toThrow(/did you mean `walltime`/);
  });

  it('takes site defaults and the dialect from CM_PBS_* and the "pbs" config section', () => {
    const file = path.join(tmp, 'site.json');
    writeFileSync(file, JSON.stringify({ pbs: { queue: 'long', account: 'proj9', dialect: 'torque' } }));
    const site = manager(2, { dialect: undefined }, { CM_CONFIG: file, CM_PBS_WALLTIME: '02:00:00' });
    expect(site.driver).toBe(torqueDriver);
    expect(directives(site.jobScript())).toEqual(expect.arrayContaining(['#PBS -q long', '#PBS -A proj9', '#PBS -l walltime=02:00:00']));
    expect(() => manager(2, {}, { CM_PBS_CPUS: 'two' })).toThrow(/`cpus` \(from CM_PBS_CPUS\)/);
  });

  it('says how to set the dialect when qstat cannot tell', () => {
    expect(() => manager(2, { dialect: 'auto' }, { PATH: tmp })).toThrow(/could not tell which PBS this is from `qstat --version`.*set the `dialect` setting to 'pro', 'torque' or 'torque-slurm'/);
  });
});
