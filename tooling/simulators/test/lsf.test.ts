// The LSF simulator end to end: real jobs through bsub/bjobs/bkill/bpeek/bhist, checked
// against the documented behaviour in /work/shared/schedulers/lsf.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, run, simulators, type Simulator, waitFor } from './lhs-helpers.ts';

const { start, close, workDir } = simulators('lsf');
const stat = (sim: Simulator, id: string) => run(sim, 'bjobs', ['-noheader', '-o', 'stat', id]).stdout.trim();
const waitEnded = (sim: Simulator, id: string) => waitFor(() => /^(DONE|EXIT)$/.test(stat(sim, id)), { what: `job ${id} to end` });

describe('LSF simulator', { timeout: 60_000 }, () => {
  it('runs a stdin script with /bin/sh in the submission dir, honouring #BSUB, and spools output until the job ends', async () => {
    const sim = start();
    const cwd = workDir();
    const gate = path.join(cwd, 'gate');
    const script = `#!/bin/bash\n#BSUB -J spooled\n#BSUB -o out.%J\necho "cwd=$(pwd) shell=\${BASH_VERSION:+bash} index=$LSB_JOBINDEX name=$LSB_JOBNAME"\nwhile [ ! -e ${gate} ]; do sleep 0.1; done\n`;
    const sub = run(sim, 'bsub', [], { input: script, cwd });
    expect(sub).toEqual({ code: 0, stdout: 'Job <1> is submitted to default queue <normal>.\n', stderr: '' });
    await waitFor(() => stat(sim, '1') === 'RUN');
    // Spooled: bpeek sees the line, the -o file does not exist yet.
    const peek = await waitFor(() => {
      const r = run(sim, 'bpeek', ['1']);
      return r.stdout.includes('cwd=') ? r : null;
    });
    expect(peek.stdout).toBe(`<< output from stdout >>\ncwd=${cwd} shell=bash index=0 name=spooled\n`);
    expect(fs.existsSync(path.join(cwd, 'out.1'))).toBe(false);
    fs.writeFileSync(gate, '');
    await waitEnded(sim, '1');
    expect(stat(sim, '1')).toBe('DONE');
    const report = fs.readFileSync(path.join(cwd, 'out.1'), 'utf8');
    expect(report).toMatch(/^Sender: LSF System <lsfadmin@.+>\nSubject: Job 1: <spooled> in cluster <cluster1> Done\n/);
    expect(report).toContain('\nSuccessfully completed.\n');
    expect(report.endsWith(`The output (if any) follows:\n\ncwd=${cwd} shell=bash index=0 name=spooled\n`)).toBe(true);
    expect(run(sim, 'bpeek', ['1'])).toMatchObject({ code: 255, stderr: 'Job <1> : Already finished.\n' });
  });

  it('writes output while the job runs with LSB_STDOUT_DIRECT=Y, and a script given as a file is only a command', async () => {
    const sim = start({ lsfConf: { LSB_STDOUT_DIRECT: 'Y' } });
    const cwd = workDir();
    fs.writeFileSync(path.join(cwd, 'job.sh'), '#BSUB -J ignored\necho direct; sleep 30\n');
    expect(run(sim, 'bsub', ['-q', 'short', '-o', 'o.txt', 'sh', 'job.sh'], { cwd }).stdout).toBe('Job <1> is submitted to queue <short>.\n');
    await waitFor(() => fs.existsSync(path.join(cwd, 'o.txt')) && fs.readFileSync(path.join(cwd, 'o.txt'), 'utf8') === 'direct\n', { what: 'direct output' });
    expect(run(sim, 'bjobs', ['-noheader', '-o', "jobid job_name stat delimiter='|'", '1']).stdout).toBe('1|sh job.sh|RUN\n');
    expect(run(sim, 'bkill', ['1'])).toEqual({ code: 0, stdout: 'Job <1> is being terminated\n', stderr: '' });
    await waitEnded(sim, '1');
  });

  it('runs "name[1-6]%2" arrays with at most 2 elements running and LSB_JOBINDEX per element', async () => {
    const sim = start();
    const cwd = workDir();
    const sub = run(sim, 'bsub', ['-J', 'w[1-6]%2', '-o', 'w.%J.%I', 'echo "$LSB_JOBID $LSB_JOBINDEX $LSB_JOBINDEX_END"; sleep 0.6'], { cwd });
    expect(sub.stdout).toBe('Job <1> is submitted to default queue <normal>.\n');
    await waitFor(
      () =>
        run(sim, 'bjobs', ['-noheader', '-o', 'stat', '1'])
          .stdout.split('\n')
          .filter((s) => s === 'DONE').length === 6,
      { what: 'six DONE elements' },
    );
    for (let i = 1; i <= 6; i++) expect(fs.readFileSync(path.join(cwd, `w.1.${i}`), 'utf8').endsWith(`\n1 ${i} 6\n`)).toBe(true);
    const tasks = sim.jobs()[0].taskRecords;
    const edges: [number, number][] = tasks
      .flatMap(
        (t: { startedAt: number; endedAt: number }) =>
          [
            [t.startedAt, 1],
            [t.endedAt, -1],
          ] as [number, number][],
      )
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let most = 0;
    for (const [, delta] of edges) most = Math.max(most, (now += delta));
    expect(most).toBe(2);
    expect(run(sim, 'bjobs', ['-noheader', '-o', 'jobid jobindex job_name', '1[3]']).stdout).toBe('1 3 w[3]\n');
  });

  it('kills with bkill (TERM_OWNER) and answers for finished and unknown jobs', async () => {
    const sim = start();
    const cwd = workDir();
    run(sim, 'bsub', ['-o', 'k.out', 'sleep 30'], { cwd });
    await waitFor(() => stat(sim, '1') === 'RUN');
    expect(run(sim, 'bkill', ['1'])).toEqual({ code: 0, stdout: 'Job <1> is being terminated\n', stderr: '' });
    await waitEnded(sim, '1');
    expect(run(sim, 'bjobs', ['-noheader', '-o', 'stat exit_code exit_reason', '1']).stdout).toMatch(/^EXIT 1(30|43) job killed by owner\n$/);
    expect(fs.readFileSync(path.join(cwd, 'k.out'), 'utf8')).toMatch(/\nTERM_OWNER: job killed by owner\.\nExited with exit code 1(30|43)\.\n/);
    expect(run(sim, 'bkill', ['1', '42'])).toEqual({ code: 255, stdout: '', stderr: 'Job <1>: Job has already finished\nJob <42>: No matching job found\n' });
    expect(run(sim, 'bhist', ['-l', '1']).stdout).toMatch(/Exited with exit code 1(30|43)\./);
  });

  it('ends a job at its -W run limit with TERM_RUNLIMIT', async () => {
    const sim = start({ secondsPerMinute: 1 });
    run(sim, 'bsub', ['-W', '1', 'sleep 30'], { cwd: workDir() });
    await waitEnded(sim, '1');
    expect(run(sim, 'bjobs', ['-l', '1']).stdout).toContain('Completed <exit>; TERM_RUNLIMIT: job killed after reaching LSF run time limit.');
    expect(run(sim, 'bjobs', ['-noheader', '-o', 'exit_code', '1']).stdout).toBe('140\n');
  });

  it('refuses bad submissions with "… Job not submitted." and exit 255', () => {
    const sim = start({ maxSlots: 4 });
    expect(run(sim, 'bsub', ['-q', 'nope', 'true'])).toEqual({ code: 255, stdout: '', stderr: 'nope: No such queue. Job not submitted.\n' });
    expect(run(sim, 'bsub', ['-n', '8', 'true']).stderr).toBe('Too many processors requested. Job not submitted.\n');
    expect(run(sim, 'bsub', ['-R', 'select[mem>1', 'true']).stderr).toBe('Bad resource requirement syntax. Job not submitted.\n');
    expect(run(sim, 'bsub', [], { input: '#BSUB -J x\n' }).stderr).toBe('No command is specified in the script file. Job not submitted.\n');
    expect(sim.jobs()).toEqual([]);
  });

  it('forgets finished jobs after CLEAN_PERIOD (bjobs: not found), while bhist still knows them', async () => {
    const sim = start({ cleanPeriod: 0.5 });
    run(sim, 'bsub', ['true'], { cwd: workDir() });
    await waitEnded(sim, '1');
    await waitFor(() => run(sim, 'bjobs', ['-noheader', '-o', 'stat', '1']).stderr === 'Job <1> is not found\n', { what: 'job 1 to be cleaned' });
    expect(run(sim, 'bjobs', ['-noheader', '-o', 'stat', '1']).code).toBe(0);
    expect(run(sim, 'bjobs', ['1']).code).toBe(255);
    expect(run(sim, 'bjobs', [])).toEqual({ code: 255, stdout: '', stderr: 'No unfinished job found\n' });
    expect(run(sim, 'bhist', ['-l', '1']).stdout).toContain('Done successfully.');
  });

  it("injects refusals, daemon timeouts, a stuck pending job and a kill with the scheduler's verdict", async () => {
    const sim = start();
    const cwd = workDir();
    sim.inject({ submit: [{ kind: 'refuse' }, { kind: 'transient' }], status: { kind: 'transient' } });
    expect(run(sim, 'bsub', ['true'], { cwd })).toEqual({ code: 255, stdout: '', stderr: 'Request aborted by esub. Job not submitted.\n' });
    expect(run(sim, 'bsub', ['true'], { cwd })).toEqual({
      code: 255,
      stdout: '',
      stderr: 'batch system daemon not responding ... still trying\nContacting batch daemon: Communication timeout. Job not submitted.\n',
    });
    expect(run(sim, 'bsub', ['true'], { cwd }).stdout).toBe('Job <1> is submitted to default queue <normal>.\n');
    expect(run(sim, 'bjobs', ['1'])).toMatchObject({ code: 255, stdout: '' });
    await waitEnded(sim, '1');

    sim.inject({ pending: 'stuck' });
    run(sim, 'bsub', ['true'], { cwd });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stat(sim, '2')).toBe('PEND');
    expect(run(sim, 'bkill', ['2']).stdout).toBe('Job <2> is being terminated\n');
    expect(stat(sim, '2')).toBe('EXIT');

    sim.inject({ kill: { kind: 'kill', afterMs: 200, reason: 'TERM_RUNLIMIT' } });
    run(sim, 'bsub', ['sleep 30'], { cwd });
    await waitEnded(sim, '3');
    expect(run(sim, 'bjobs', ['-noheader', '-o', 'stat exit_code exit_reason', '3']).stdout).toBe('EXIT 137 job killed after reaching LSF run time limit\n');

    run(sim, 'bsub', ['sleep 30'], { cwd });
    await waitFor(() => stat(sim, '4') === 'RUN');
    sim.killJob('4', { reason: 'TERM_MEMLIMIT' });
    await waitEnded(sim, '4');
    expect(run(sim, 'bjobs', ['-l', '4']).stdout).toContain('TERM_MEMLIMIT: job killed after reaching LSF memory usage limit.');
  });

  it('holds a -H job in PSUSP and leaves nothing running after close()', async () => {
    const sim = start();
    run(sim, 'bsub', ['-H', 'true'], { cwd: workDir() });
    expect(stat(sim, '1')).toBe('PSUSP');
    run(sim, 'bsub', ['sleep 60'], { cwd: workDir() });
    const record = await waitFor(() => sim.jobs()[1]?.taskRecords[0]?.pid);
    await close(sim);
    expect(isAlive(record)).toBe(false);
  });
});
