// The HTCondor simulator end to end: real procs through condor_submit/condor_q/
// condor_history/condor_rm, checked against /work/shared/schedulers/htcondor.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, run, simulators, type Simulator, waitFor } from './lhs-helpers.ts';

const { start, close, workDir: submitDir } = simulators('htcondor');
const q = (sim: Simulator, id: string, attrs: string) => run(sim, 'condor_q', [id, '-af', ...attrs.split(' ')]).stdout.trim();
const gone = (sim: Simulator, id: string) => waitFor(() => run(sim, 'condor_q', [id, '-af', 'JobStatus']).stdout === '', { what: `${id} to leave the queue` });

describe('HTCondor simulator', { timeout: 60_000 }, () => {
  it('runs each proc directly in initialdir with only getenv/environment and the starter variables', async () => {
    const sim = start();
    const cwd = submitDir({ 'job.sh': '#!/bin/sh\necho "$1|$2|$3|PATH=$(env | grep -c "^PATH=")|HOME=${HOME-none}|KEEP=${CM_KEEP-none}|MSG=$MSG|$(pwd)|$BATCH_SYSTEM|$OMP_NUM_THREADS"\n' });
    fs.mkdirSync(path.join(cwd, 'work'));
    fs.writeFileSync(
      path.join(cwd, 'job.sub'),
      'universe = vanilla\nexecutable = job.sh\narguments = "$(Process) \'two words\' $HOME"\ninitialdir = work\ngetenv = CM_KEEP\nenvironment = "MSG=\'hi there\'"\nrequest_cpus = 2\noutput = out.$(Cluster).$(Process)\nerror = err.$(Cluster).$(Process)\nqueue 3\n',
    );
    const sub = run(sim, 'condor_submit', ['job.sub'], { cwd, env: { CM_KEEP: 'kept', CM_OTHER: 'x' } });
    expect(sub).toEqual({ code: 0, stdout: 'Submitting job(s)...\n3 job(s) submitted to cluster 1.\n', stderr: 'To monitor your job(s), run: condor_watch_q -clusters 1\n' });
    await gone(sim, '1');
    for (const proc of [0, 1, 2]) {
      expect(fs.readFileSync(path.join(cwd, 'work', `out.1.${proc}`), 'utf8')).toBe(`${proc}|two words|$HOME|PATH=0|HOME=none|KEEP=kept|MSG=hi there|${path.join(cwd, 'work')}|HTCondor|2\n`);
    }
    expect(run(sim, 'condor_history', ['1', '-af:j', 'JobStatus', 'ExitCode', 'ExitBySignal']).stdout).toBe('1.2 4 0 false\n1.1 4 0 false\n1.0 4 0 false\n');
  });

  it('shows running procs in condor_q (-af:jr, -json), and nothing at all once they left the queue', async () => {
    const sim = start();
    const cwd = submitDir({ 'gate.sh': `#!/bin/sh\nwhile [ ! -e "$1" ]; do sleep 0.1; done\n` });
    const gate = path.join(cwd, 'gate');
    fs.writeFileSync(path.join(cwd, 'job.sub'), `executable = gate.sh\narguments = ${gate}\nqueue 2\n`);
    expect(run(sim, 'condor_submit', ['-terse', 'job.sub'], { cwd })).toEqual({ code: 0, stdout: '1.0 - 1.1\n', stderr: '' });
    await waitFor(() => run(sim, 'condor_q', ['1.0', '1.1', '-af:jr', 'JobStatus']).stdout === '1.0 2\n1.1 2\n', { what: 'both running' });
    expect(JSON.parse(run(sim, 'condor_q', ['-json', '-attributes', 'ClusterId,ProcId,JobStatus', '1']).stdout)).toEqual([
      { ClusterId: 1, JobStatus: 2, ProcId: 0 },
      { ClusterId: 1, JobStatus: 2, ProcId: 1 },
    ]);
    expect(run(sim, 'condor_q', ['-constraint', 'ClusterId == 1 && ProcId == 1', '-af', 'ProcId']).stdout).toBe('1\n');
    fs.writeFileSync(gate, '');
    await gone(sim, '1');
    expect(run(sim, 'condor_q', ['-json', '1'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(run(sim, 'condor_q', ['1.0', '-af:jr', 'JobStatus'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(run(sim, 'condor_history', ['-limit', '1', '-af', 'ClusterId', 'ProcId']).stdout).toBe('1 1\n');
  });

  it('holds a proc whose executable cannot be executed (JobStatus 5, HoldReason, codes)', async () => {
    const sim = start();
    const cwd = submitDir({ 'noshebang.sh': 'echo hi\n', 'noexec.sh': '#!/bin/sh\necho hi\n' });
    fs.chmodSync(path.join(cwd, 'noexec.sh'), 0o644);
    fs.writeFileSync(path.join(cwd, 'job.sub'), 'executable = noshebang.sh\nqueue\nexecutable = noexec.sh\narguments = -v\nqueue\n');
    run(sim, 'condor_submit', ['job.sub'], { cwd });
    await waitFor(() => run(sim, 'condor_q', ['1', '-af', 'JobStatus']).stdout === '5\n5\n', { what: 'both held' });
    const host = os.hostname().split('.')[0];
    expect(run(sim, 'condor_q', ['1', '-af:j', 'HoldReasonCode', 'HoldReasonSubCode', 'HoldReason']).stdout).toBe(
      `1.0 6 8 Error from slot1@${host}: Failed to execute '${cwd}/noshebang.sh': (errno=8: 'Exec format error')\n` +
        `1.1 6 13 Error from slot1@${host}: Failed to execute '${cwd}/noexec.sh' with arguments -v: (errno=13: 'Permission denied')\n`,
    );
    expect(run(sim, 'condor_rm', ['1'])).toEqual({ code: 0, stdout: 'All jobs in cluster 1 have been marked for removal\n', stderr: '' });
    expect(run(sim, 'condor_q', ['1', '-af', 'JobStatus']).stdout).toBe('');
    expect(run(sim, 'condor_history', ['1.0', '-af', 'JobStatus', 'RemoveReason']).stdout).toBe(`3 via condor_rm (by user ${os.userInfo().username})\n`);
  });

  it('refuses bad submit files with "\\nERROR: …" and exit 1', () => {
    const sim = start();
    const cwd = submitDir({ 'ok.sh': '#!/bin/sh\n' });
    const submit = (text: string) => {
      fs.writeFileSync(path.join(cwd, 'f.sub'), text);
      return run(sim, 'condor_submit', ['f.sub'], { cwd });
    };
    expect(submit('executable = missing.sh\nqueue\n')).toEqual({ code: 1, stdout: 'Submitting job(s)', stderr: "\nERROR: Can't access executable file missing.sh: No such file or directory\n" });
    expect(submit('output = x\nqueue\n').stderr).toBe("\nERROR: No 'executable' parameter was provided\n");
    expect(submit('executable = ok.sh\n')).toEqual({ code: 1, stdout: '', stderr: '\nERROR: "f.sub" doesn\'t contain any "queue" commands -- no jobs queued\n' });
    expect(submit('executable = ok.sh\noutput = nodir/out\nqueue\n').stderr).toBe(`\nERROR: Can't open "${cwd}/nodir/out"  with flags 01101 (No such file or directory)\n`);
    expect(sim.jobs()).toEqual([]);
  });

  it('removes a running proc asynchronously and answers condor_rm like the schedd', async () => {
    // The proc finishes its SIGTERM handler only once the test opens the gate: no race with the checks.
    const sim = start({ killGraceMs: 60_000 });
    const cwd = submitDir({ 'trap.sh': '#!/bin/sh\ntrap "while [ ! -e gate ]; do sleep 0.1; done; exit 3" TERM\nwhile true; do sleep 0.1; done\n' });
    fs.writeFileSync(path.join(cwd, 'job.sub'), 'executable = trap.sh\nqueue\n');
    run(sim, 'condor_submit', ['job.sub'], { cwd });
    run(sim, 'condor_submit', ['job.sub'], { cwd });
    await waitFor(() => q(sim, '1.0', 'JobStatus') === '2');
    expect(run(sim, 'condor_rm', ['1.0'])).toEqual({ code: 0, stdout: 'Job 1.0 marked for removal\n', stderr: '' });
    expect(q(sim, '1.0', 'JobStatus')).toBe('3');
    expect(run(sim, 'condor_rm', ['1.0'])).toEqual({ code: 1, stdout: '', stderr: 'Job 1.0 already marked for removal\n' });
    fs.writeFileSync(path.join(cwd, 'gate'), '');
    await gone(sim, '1.0');
    expect(run(sim, 'condor_rm', ['1.0'])).toEqual({ code: 1, stdout: '', stderr: 'Job 1.0 not found\n' });
    expect(run(sim, 'condor_rm', ['99'])).toEqual({ code: 1, stdout: '', stderr: "Couldn't find/remove all jobs in cluster 99\n" });
    expect(run(sim, 'condor_rm', ['-forcex', '2'])).toMatchObject({ code: 0, stdout: 'All jobs in cluster 2 have been marked for removal\n' });
    await gone(sim, '2');
    expect(run(sim, 'condor_rm', ['2'])).toEqual({ code: 0, stdout: '', stderr: 'condor_rm:0:There are no jobs in the queue\n' });
  });

  it('transfers input files, runs condor_exec.exe in the scratch dir and brings outputs back at exit', async () => {
    const sim = start();
    const cwd = submitDir({ 'job.sh': '#!/bin/sh\necho "$(basename "$0") $(cat in.txt) $([ "$(pwd)" = "$_CONDOR_SCRATCH_DIR" ] && echo scratch)"\necho made > result.txt\n', 'in.txt': 'input' });
    fs.writeFileSync(
      path.join(cwd, 'job.sub'),
      'executable = job.sh\nshould_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\ntransfer_input_files = in.txt\noutput = out.txt\nlog = job.log\nqueue\n',
    );
    run(sim, 'condor_submit', ['job.sub'], { cwd });
    await gone(sim, '1');
    expect(fs.readFileSync(path.join(cwd, 'out.txt'), 'utf8')).toBe('condor_exec.exe input scratch\n');
    expect(fs.readFileSync(path.join(cwd, 'result.txt'), 'utf8')).toBe('made\n');
    expect(fs.readFileSync(path.join(cwd, 'job.log'), 'utf8')).toMatch(
      /^000 \(001\.000\.000\) .* Job submitted from host: <.*\n\.\.\.\n001 .*\n\.\.\.\n005 \(001\.000\.000\) .* Job terminated\.\n\t\(1\) Normal termination \(return value 0\)\n/,
    );
  });

  it('injects schedd failures, a stuck Idle job, PeriodicRemove and PeriodicHold verdicts, and allowed_job_duration holds', async () => {
    const sim = start();
    const cwd = submitDir({ 'sleep.sh': '#!/bin/sh\nsleep 30\n' });
    fs.writeFileSync(path.join(cwd, 'job.sub'), 'executable = sleep.sh\nqueue\n');
    sim.inject({ submit: [{ kind: 'transient' }, { kind: 'refuse', message: 'SUBMIT_REQUIREMENT "NoShortJobs" evaluated to false' }], status: { kind: 'transient' } });
    expect(run(sim, 'condor_submit', ['job.sub'], { cwd })).toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(/^\nERROR: Failed to connect to local queue manager\nCEDAR:6001:Failed to connect to <.*>\n$/),
    });
    expect(run(sim, 'condor_submit', ['job.sub'], { cwd })).toEqual({
      code: 1,
      stdout: 'Submitting job(s)\n',
      stderr: '\nERROR: Failed to commit job submission into the queue.\nERROR: SUBMIT_REQUIREMENT "NoShortJobs" evaluated to false\n',
    });
    expect(run(sim, 'condor_q', [])).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^-- Failed to fetch ads from: <.*> : /) });

    sim.inject({ pending: 'stuck', kill: { kind: 'kill', afterMs: 300, reason: 'PeriodicRemove', verdict: { expression: 'RemoteWallClockTime > 0' } } });
    run(sim, 'condor_submit', ['job.sub'], { cwd });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(q(sim, '1', 'JobStatus')).toBe('1');
    run(sim, 'condor_rm', ['1']);
    sim.inject({ kill: { kind: 'kill', afterMs: 300, reason: 'PeriodicRemove', verdict: { expression: 'RemoteWallClockTime > 0' } } });
    run(sim, 'condor_submit', ['job.sub'], { cwd });
    await gone(sim, '2');
    expect(run(sim, 'condor_history', ['2', '-af', 'JobStatus', 'RemoveReason']).stdout).toBe("3 The job attribute PeriodicRemove expression 'RemoteWallClockTime > 0' evaluated to TRUE\n");

    run(sim, 'condor_submit', ['job.sub'], { cwd });
    await waitFor(() => q(sim, '3', 'JobStatus') === '2');
    sim.killJob('3.0', { reason: 'PeriodicHold' });
    await waitFor(() => q(sim, '3', 'JobStatus') === '5');
    expect(q(sim, '3', 'HoldReasonCode HoldReason')).toBe("3 The job attribute PeriodicHold expression 'true' evaluated to TRUE");

    fs.writeFileSync(path.join(cwd, 'short.sub'), 'executable = sleep.sh\nallowed_job_duration = 1\nqueue\n');
    run(sim, 'condor_submit', ['short.sub'], { cwd });
    await waitFor(() => q(sim, '4', 'JobStatus') === '5');
    expect(q(sim, '4', 'HoldReasonCode')).toBe('46');
  });

  it('keeps a proc asking for more than any slot Idle, and leaves nothing running after close()', async () => {
    const sim = start({ cpus: 4 });
    const cwd = submitDir({ 'sleep.sh': '#!/bin/sh\nsleep 60\n' });
    fs.writeFileSync(path.join(cwd, 'big.sub'), 'executable = sleep.sh\nrequest_cpus = 8\nqueue\n');
    fs.writeFileSync(path.join(cwd, 'job.sub'), 'executable = sleep.sh\nqueue\n');
    run(sim, 'condor_submit', ['big.sub'], { cwd });
    run(sim, 'condor_submit', ['job.sub'], { cwd });
    const pid = await waitFor(() => sim.jobs()[1]?.taskRecords[0]?.pid);
    expect(q(sim, '1', 'JobStatus')).toBe('1');
    await close(sim);
    expect(isAlive(pid)).toBe(false);
  });
});
