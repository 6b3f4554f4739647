// The PBS Pro simulator against the documented behaviour in /work/shared/schedulers/pbs.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, setup, waitFor } from './helpers.js';

let t: ReturnType<typeof setup>;
beforeEach(() => {
  t = setup('pbspro', { killDelaySeconds: 1, queues: ['workq', 'debug'] });
});
afterEach(async () => {
  await t.cleanup();
});

/** The job's attributes from `qstat -f -F json -x`. */
async function attrs(id: string): Promise<Record<string, any>> {
  const { stdout } = await t.run('qstat', ['-f', '-F', 'json', '-x', id]);
  return JSON.parse(stdout).Jobs?.[id] ?? {};
}
const untilState = (id: string, states: string[]) =>
  waitFor(`${id} in ${states.join('/')}`, async () => ((await attrs(id)).job_state in Object.fromEntries(states.map((s) => [s, 1])) ? attrs(id) : undefined));

describe('qsub', () => {
  it('prints <seq>.<server> for a script file and for stdin (job name STDIN)', async () => {
    fs.writeFileSync(path.join(t.workdir, 'job.sh'), '#!/bin/bash\ntrue\n');
    const byFile = await t.run('qsub', ['job.sh']);
    expect(byFile).toMatchObject({ stdout: '1.pbs\n', stderr: '', exitCode: 0 });
    const byStdin = await t.run('qsub', [], { input: 'true\n' });
    expect(byStdin.stdout).toBe('2.pbs\n');
    expect((await attrs('1.pbs')).Job_Name).toBe('job.sh');
    expect((await attrs('2.pbs')).Job_Name).toBe('STDIN');
    const [first, second] = t.sim.submissions();
    expect(first).toMatchObject({ command: 'qsub', argv: ['job.sh'], stdin: false, jobId: '1.pbs' });
    expect(second).toMatchObject({ stdin: true, script: 'true\n', jobId: '2.pbs' });
  });

  it('reads #PBS directives up to the first command; the command line overrides them', async () => {
    const script = '#!/bin/bash\n#PBS -N fromscript\n#PBS -q debug\n# a comment\n\necho hi\n#PBS -A ignored\n';
    const { stdout } = await t.run('qsub', ['-N', 'fromcli'], { input: script });
    const job = await attrs(stdout.trim());
    expect(job).toMatchObject({ Job_Name: 'fromcli', queue: 'debug' });
    expect(job.Account_Name).toBeUndefined();
  });

  it('refuses an unknown queue with the server text and exit 170', async () => {
    expect(await t.run('qsub', ['-q', 'nosuch'], { input: 'true\n' })).toMatchObject({ stdout: '', stderr: 'qsub: Unknown queue\n', exitCode: 170 });
  });

  it('refuses nodes= mixed with mem= (241) and bad -l syntax (2, usage)', async () => {
    expect(await t.run('qsub', ['-l', 'nodes=1:ppn=2:mem=1gb'], { input: 'true\n' })).toMatchObject({ stderr: 'qsub: node(s) specification error\n', exitCode: 241 });
    const bad = await t.run('qsub', ['-l', 'walltime'], { input: 'true\n' });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^qsub: illegal -l value\nusage: qsub /);
  });

  it('-z prints no id; --version prints pbs_version', async () => {
    expect(await t.run('qsub', ['-z'], { input: 'true\n' })).toMatchObject({ stdout: '', exitCode: 0 });
    expect(await t.run('qstat', ['--version'])).toMatchObject({ stdout: 'pbs_version = 23.06.06\n', exitCode: 0 });
  });
});

describe('jobs', () => {
  it('run as a login shell in $HOME with the PBS environment, output delivered at the end', async () => {
    const marker = path.join(t.workdir, 'go');
    const script = `#PBS -N envjob\necho "pwd=$(pwd) id=$PBS_JOBID name=$PBS_JOBNAME wd=$PBS_O_WORKDIR q=$PBS_QUEUE env=$PBS_ENVIRONMENT secret=\${CM_SECRET-unset} parent=$(tr -d '\\0' < /proc/$PPID/cmdline) script=$0"\nwhile [ ! -e ${marker} ]; do sleep 0.1; done\necho oops >&2\n`;
    const { stdout } = await t.run('qsub', [], { input: script, env: { CM_SECRET: 'hidden' } });
    const id = stdout.trim();
    await untilState(id, ['R']);
    const outFile = path.join(t.workdir, 'envjob.o1');
    expect(fs.existsSync(outFile)).toBe(false); // spooled until the job ends
    fs.writeFileSync(marker, '');
    await untilState(id, ['F']);
    expect(fs.readFileSync(outFile, 'utf8')).toBe(`pwd=${t.home} id=1.pbs name=envjob wd=${t.workdir} q=workq env=PBS_BATCH secret=unset parent=-bash script=${t.sim.dir}/jobs/1/1.pbs.SC\n`);
    expect(fs.readFileSync(path.join(t.workdir, 'envjob.e1'), 'utf8')).toBe('oops\n');
    expect(await attrs(id)).toMatchObject({ job_state: 'F', Exit_status: 0, substate: 92 });
    // The log keeps names of CM_ variables but never their values.
    const entry = t.sim.submissions()[0];
    expect(entry.env.names).toContain('CM_SECRET');
    expect(entry.env.values.CM_SECRET).toBeUndefined();
  });

  it('export the submit environment only with -V or -v', async () => {
    const script = 'echo "a=${A_VAR-unset} b=${B_VAR-unset}"\n';
    const env = { A_VAR: 'one', B_VAR: 'two' };
    await t.run('qsub', ['-N', 'plain', '-j', 'oe'], { input: script, env });
    await t.run('qsub', ['-N', 'listed', '-j', 'oe', '-v', 'B_VAR,C=3'], { input: script, env });
    await t.run('qsub', ['-N', 'all', '-j', 'oe', '-V'], { input: script, env });
    for (const id of ['1.pbs', '2.pbs', '3.pbs']) await untilState(id, ['F']);
    expect(fs.readFileSync(path.join(t.workdir, 'plain.o1'), 'utf8')).toBe('a=unset b=unset\n');
    expect(fs.readFileSync(path.join(t.workdir, 'listed.o2'), 'utf8')).toBe('a=unset b=two\n');
    expect(fs.readFileSync(path.join(t.workdir, 'all.o3'), 'utf8')).toBe('a=one b=two\n');
    expect((await attrs('2.pbs')).Variable_List).toMatchObject({ B_VAR: 'two', C: 3, PBS_O_WORKDIR: t.workdir });
  });

  it('-J arrays: 1234[].server, per-subjob environment and <name>.o<seq>.<index> files', async () => {
    const script = '#PBS -N arr\n#PBS -J 0-4:2\necho "$PBS_ARRAY_INDEX $PBS_ARRAY_ID $PBS_JOBID"\n';
    const { stdout } = await t.run('qsub', [], { input: script });
    expect(stdout).toBe('1[].pbs\n');
    const job = await untilState('1[].pbs', ['F']);
    expect(job).toMatchObject({ array: 'True', array_indices_submitted: '0-4:2', Exit_status: 0 });
    for (const i of [0, 2, 4]) expect(fs.readFileSync(path.join(t.workdir, `arr.o1.${i}`), 'utf8')).toBe(`${i} 1[].pbs 1[${i}].pbs\n`);
    const sub = await t.run('qstat', ['-t', '-x', '1[].pbs']);
    expect(
      sub.stdout
        .split('\n')
        .slice(2, -1)
        .map((l) =>
          l
            .split(/\s+/)
            .slice(0, 1)
            .concat(l.split(/\s+/)[4] ?? ''),
        ),
    ).toEqual([
      ['1[].pbs', 'F'],
      ['1[0].pbs', 'X'],
      ['1[2].pbs', 'X'],
      ['1[4].pbs', 'X'],
    ]);
  });

  it('an array with a running subjob is B; %1 runs one subjob at a time', async () => {
    const marker = path.join(t.workdir, 'go');
    await t.run('qsub', ['-J', '1-2%1'], { input: `while [ ! -e ${marker} ]; do sleep 0.1; done\n` });
    await untilState('1[].pbs', ['B']);
    expect((await attrs('1[1].pbs')).job_state).toBe('R');
    expect((await attrs('1[2].pbs')).job_state).toBe('Q');
    fs.writeFileSync(marker, '');
    await untilState('1[].pbs', ['F']);
  });

  it('walltime: killed, Exit_status -29, the MOM message on stderr', async () => {
    const { stdout } = await t.run('qsub', ['-l', 'walltime=00:00:01', '-N', 'slow'], { input: 'sleep 60\n' });
    const job = await untilState(stdout.trim(), ['F']);
    expect(job.Exit_status).toBe(-29);
    expect(job.comment).toMatch(/and exceeded resource walltime$/);
    expect(fs.readFileSync(path.join(t.workdir, 'slow.e1'), 'utf8')).toMatch(/^=>> PBS: job killed: walltime \d+ exceeded limit 1\n$/);
  });
});

describe('qstat', () => {
  it('-f prints Job Id then 4-space attributes, long values wrapped with newline + TAB', async () => {
    await t.run('qsub', ['-h', '-N', 'held'], { input: 'true\n' });
    const { stdout, exitCode } = await t.run('qstat', ['-f', '1.pbs']);
    expect(exitCode).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('Job Id: 1.pbs');
    expect(lines[1]).toBe('    Job_Name = held');
    expect(lines).toContain('    job_state = H');
    expect(lines).toContain('    Resource_List.select = 1:ncpus=1');
    expect(stdout.endsWith('\n\n')).toBe(true);
    const variableLines = stdout.slice(stdout.indexOf('    Variable_List = ')).split('\n');
    expect(variableLines[1]?.startsWith('\t')).toBe(true);
    for (const line of lines) expect(line.replace('\t', ' '.repeat(8)).length).toBeLessThanOrEqual(80);
  });

  it('-F json: the prologue always, Jobs only when a job matched; unknown → 153', async () => {
    const unknown = await t.run('qstat', ['-f', '-F', 'json', '7.pbs']);
    expect(unknown.exitCode).toBe(153);
    expect(unknown.stderr).toBe('qstat: Unknown Job Id 7.pbs\n');
    const prologue = JSON.parse(unknown.stdout);
    expect(Object.keys(prologue)).toEqual(['timestamp', 'pbs_version', 'pbs_server']);
    expect(prologue).toMatchObject({ pbs_version: '23.06.06', pbs_server: 'pbs' });
    expect(typeof prologue.timestamp).toBe('number');
    await t.run('qsub', ['-h', '-N', '123'], { input: 'true\n' });
    const both = await t.run('qstat', ['-f', '-F', 'json', '1.pbs', '7.pbs']);
    expect(both.exitCode).toBe(153);
    const job = JSON.parse(both.stdout).Jobs['1.pbs'];
    expect(job).toMatchObject({ Job_Name: '123', job_state: 'H', Priority: 0, Resource_List: { ncpus: 1, nodect: 1 } });
  });

  it('-x on a server without job history: refused for every id, nothing listed, exit 0', async () => {
    const off = setup('pbspro', { history: false });
    try {
      await off.run('qsub', ['-h'], { input: 'true\n' });
      const refused = await off.run('qstat', ['-f', '-F', 'json', '-x', '1.pbs']);
      expect(refused).toMatchObject({ stderr: 'qstat: PBS is not configured to maintain job history 1.pbs\n', exitCode: 0 });
      expect(Object.keys(JSON.parse(refused.stdout))).toEqual(['timestamp', 'pbs_version', 'pbs_server']);
      expect(JSON.parse((await off.run('qstat', ['-f', '-F', 'json', '1.pbs'])).stdout).Jobs['1.pbs'].job_state).toBe('H');
    } finally {
      await off.cleanup();
    }
  });

  it('table form, finished jobs need -x (35), the last failure decides the exit status', async () => {
    await t.run('qsub', ['-N', 'quick'], { input: 'true\n' });
    await t.run('qsub', ['-h', '-N', 'waiting'], { input: 'true\n' });
    await untilState('1.pbs', ['F']);
    const table = await t.run('qstat', ['1.pbs', '2.pbs']);
    expect(table.stdout).toBe(
      'Job id            Name             User              Time Use S Queue\n' +
        '----------------  ---------------- ----------------  -------- - -----\n' +
        `2.pbs             waiting          ${os.userInfo().username.padEnd(16)}         0 H workq           \n`,
    );
    expect(table.stderr).toBe('qstat: 1.pbs Job has finished, use -x or -H to obtain historical job information\n');
    expect(table.exitCode).toBe(35);
    const mixed = await t.run('qstat', ['1.pbs', '99.pbs']);
    expect(mixed.exitCode).toBe(153);
  });
});

describe('qdel', () => {
  it('deletes running and queued jobs silently; unknown 153; finished 35', async () => {
    await t.run('qsub', [], { input: 'sleep 60\n' });
    await t.run('qsub', ['-h'], { input: 'sleep 60\n' });
    await untilState('1.pbs', ['R']);
    expect(await t.run('qdel', ['1.pbs', '2.pbs'])).toMatchObject({ stdout: '', stderr: '', exitCode: 0 });
    expect(await untilState('1.pbs', ['F'])).toMatchObject({ Exit_status: 271 }); // 256 + SIGTERM
    await untilState('2.pbs', ['F']);
    expect(await t.run('qdel', ['1.pbs'])).toMatchObject({ stderr: 'qdel: Job has finished 1.pbs\n', exitCode: 35 });
    expect(await t.run('qdel', ['5.pbs'])).toMatchObject({ stderr: 'qdel: Unknown Job Id 5.pbs\n', exitCode: 153 });
    expect(await t.run('qdel', ['x!y'])).toMatchObject({ stderr: 'qdel: illegally formed job identifier: x!y\n', exitCode: 1 });
  });

  it('deletes one subjob or the whole array', async () => {
    await t.run('qsub', ['-J', '1-3'], { input: 'sleep 60\n' });
    await waitFor('all subjobs running', async () => (await attrs('1[].pbs')).array_state_count === 'Queued:0 Running:3 Exiting:0 Expired:0 ');
    expect((await t.run('qdel', ['1[2].pbs'])).exitCode).toBe(0);
    await untilState('1[2].pbs', ['X']);
    expect((await attrs('1[].pbs')).job_state).toBe('B');
    // OpenPBS req_delete.c: PBSE_NOHISTARRAYSUBJOB (15159 & 0xFF).
    expect(await t.run('qdel', ['1[2].pbs'])).toMatchObject({ stderr: 'qdel: Request invalid for finished array subjob 1[2].pbs\n', exitCode: 55 });
    expect((await t.run('qdel', ['1[].pbs'])).exitCode).toBe(0);
    expect(await untilState('1[].pbs', ['F'])).toMatchObject({ Exit_status: 2 });
  });
});

describe('failure injection', () => {
  it('refuse, then transient twice, then a normal submission', async () => {
    t.sim.inject({ submit: [{ kind: 'refuse' }, { kind: 'transient', times: 2 }] });
    expect(await t.run('qsub', [], { input: 'true\n' })).toMatchObject({ stderr: 'qsub: Job violates queue and/or server resource limits\n', exitCode: 188 });
    for (let i = 0; i < 2; i++) {
      expect(await t.run('qsub', [], { input: 'true\n' })).toMatchObject({ stdout: '', stderr: 'Connection refused\nqsub: cannot connect to server pbs (errno=15010)\n', exitCode: 162 });
    }
    expect(await t.run('qsub', [], { input: 'true\n' })).toMatchObject({ stdout: '1.pbs\n', exitCode: 0 });
  });

  it('a transient qstat failure still prints the JSON prologue and exits 255', async () => {
    t.sim.inject({ status: { kind: 'transient' } });
    const down = await t.run('qstat', ['-f', '-F', 'json', '1.pbs']);
    expect(down.exitCode).toBe(255);
    expect(down.stderr).toBe('Connection refused\nqstat: cannot connect to server pbs (errno=15010)\n');
    expect(Object.keys(JSON.parse(down.stdout))).toEqual(['timestamp', 'pbs_version', 'pbs_server']);
  });

  it('stuck pending: queued until deleted', async () => {
    t.sim.inject({ pending: 'stuck' });
    await t.run('qsub', [], { input: 'true\n' });
    const job = await attrs('1.pbs');
    expect(job.job_state).toBe('Q');
    expect(job.comment).toMatch(/^Not Running: /);
    expect(t.sim.processes()).toEqual([]);
    await t.run('qdel', ['1.pbs']);
    expect((await untilState('1.pbs', ['F'])).Exit_status).toBeUndefined();
  });

  it('a job killed while running records the given verdict, or 256 + SIGKILL', async () => {
    await t.run('qsub', [], { input: 'sleep 60\n' });
    await t.run('qsub', [], { input: 'sleep 60\n' });
    await untilState('1.pbs', ['R']);
    await untilState('2.pbs', ['R']);
    t.sim.killJob('1.pbs');
    t.sim.killJob('2.pbs', { exitStatus: -20 });
    expect((await untilState('1.pbs', ['F'])).Exit_status).toBe(265);
    expect((await untilState('2.pbs', ['F'])).Exit_status).toBe(-20);
  });
});

it('close() kills every process the simulator started', async () => {
  const bg = (i: number) => path.join(t.workdir, `bg.${i}`);
  await t.run('qsub', ['-J', '1-2'], { input: `sleep 300 & echo $! > ${t.workdir}/bg.$PBS_ARRAY_INDEX; wait\n` });
  const pids = await waitFor('two running tasks, their runner and their background sleeps', () => {
    const live = t.sim.processes();
    return live.length >= 3 && fs.existsSync(bg(1)) && fs.existsSync(bg(2)) ? live : undefined;
  });
  const background = [1, 2].map((i) => Number(fs.readFileSync(bg(i), 'utf8')));
  await t.cleanup();
  for (const pid of [...pids, ...background]) expect(isAlive(pid)).toBe(false);
  t = setup('pbspro'); // for afterEach
});
