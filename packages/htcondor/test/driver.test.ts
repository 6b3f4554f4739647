// Unit tests of the HTCondor declaration: the submit description, parsing what condor_submit,
// condor_q and condor_history print (htcondor.md), states, option checks. No HTCondor needed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { classifyStatus, describeEnd, isEnded, isInQueue } from '@cm/core/driver';
import { afterAll, describe, expect, it } from 'vitest';
import { HTCManager, htcondorDriver, parseClusterId, parseStatus } from '../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-htcondor-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const emptyConfig = path.join(tmp, 'empty.json');
writeFileSync(emptyConfig, '{}');
const manager = (np: number, options: Record<string, unknown> = {}) => {
  const saved = process.env.CM_CONFIG;
  process.env.CM_CONFIG = emptyConfig;
  try {
    return new HTCManager(np, { logDir: '/shared/logs', ...options });
  } finally {
    if (saved === undefined) delete process.env.CM_CONFIG;
    else process.env.CM_CONFIG = saved;
  }
};
const submitFile = (np: number, options: Record<string, unknown> = {}) => manager(np, options).jobScript().split('\n# submitted with:')[0]!;

describe('submit description', () => {
  it('runs the body script with no inherited environment, names the logs by $(Cluster).$(Process), and ends with queue N', () => {
    const text = submitFile(3, { requestCpus: 2, requestMemory: '4 GB', requirements: 'OpSys == "LINUX"', want_graceful_removal: true, submitLines: ['+ProjectName = "cm"'] });
    const lines = text
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    expect(lines).toEqual([
      'universe = vanilla',
      'executable = /shared/logs/cm-L000000000000.body.sh',
      'getenv = false',
      'environment = "CM_HTCONDOR_CLUSTER=$(Cluster) CM_HTCONDOR_PROC=$(Process) PATH=/usr/local/bin:/usr/bin:/bin"',
      'batch_name = cm',
      'output = /shared/logs/cm-L000000000000-$(Cluster).$(Process).out',
      'error = /shared/logs/cm-L000000000000-$(Cluster).$(Process).err',
      'log = /shared/logs/cm-L000000000000-$(Cluster).log',
      'request_cpus = 2',
      'request_memory = 4 GB',
      'requirements = OpSys == "LINUX"',
      'want_graceful_removal = true',
      '+ProjectName = "cm"',
      'queue 3',
    ]);
  });

  it('turns file transfer on for transferInputFiles, running the body in place', () => {
    const text = submitFile(1, { transferInputFiles: 'data.csv,lib' });
    expect(text).toContain('should_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\ntransfer_executable = false\n');
    expect(text).toContain('transfer_input_files = data.csv,lib');
  });

  it('keeps a getenv matchlist, and the body reads the task index from the proc variable', () => {
    const script = manager(2, { getenv: 'CONDA_*, LANG' }).jobScript();
    expect(script).toContain('getenv = CONDA_*, LANG');
    expect(script).not.toContain('getenv = false');
    expect(script).toMatch(/^export CM_TASK_INDEX_VARS=CM_HTCONDOR_PROC$/m);
    expect(script).toMatch(/^export CM_JOB_ID_VARS=CM_HTCONDOR_CLUSTER$/m);
    expect(script).toMatch(/^export CM_SECRET_FILE=\/shared\/logs\/cm-L000000000000\.secret$/m);
  });

  it('sets the walltime from allowedJobDuration', () => {
    expect(manager(1, { allowedJobDuration: 600 }).jobScript()).toMatch(/CM_ENDS_AT=\$\(\( \(\$\(date \+%s\) \+ 600\) \* 1000 \)\)/);
  });
});

describe('checks before anything is submitted', () => {
  it.each([
    [{ getenv: true }, /`getenv`: copying the whole submit environment puts it into the job's ClassAd/],
    [{ getenv: 'PATH, *' }, /`getenv`: copying the whole submit environment/],
    [{ executable: '/bin/sh' }, /`executable`: @cm runs its own body script/],
    [{ queue: 4 }, /`queue`: the number of workers sets `queue N`/],
    [{ environment: 'A=1' }, /`environment`: use the `env` option/],
    [{ submitLines: ['getenv = True'] }, /`submitLines` line "getenv = True": give `getenv` a matchlist/],
    [{ submitLines: ['queue 2'] }, /`submitLines\.0`: each must be one line `key = value`/],
    [{ submitLines: ['output = /tmp/x'] }, /`submitLines` line "output = \/tmp\/x": `output`: job logs go to `logDir`/],
    [{ submitLines: ['a = 1\nqueue'] }, /each must be one line `key = value`/],
    [{ requestMemory: 'lots' }, /`requestMemory`/],
    [{ requestCpu: 2 }, /`requestCpu` is not a htcondor option \(did you mean `requestCpus`\?\)/],
    [{ layout: 'tasks' }, /does not support layout 'tasks'/],
  ])('refuses %j', (options, message) => {
    expect(() => manager(2, options)).toThrow(message);
  });
});

describe('what HTCondor prints', () => {
  it('reads the cluster id from condor_submit (one job, several, and the old one-line-per-cluster form)', () => {
    expect(parseClusterId('Submitting job(s)...\n3 job(s) submitted to cluster 123.\n')).toBe('123');
    expect(parseClusterId('Submitting job(s).\n1 job(s) submitted to cluster 7.\n')).toBe('7');
    expect(parseClusterId('5 job(s) submitted to cluster 118907.\n1 job(s) submitted to cluster 118908.\n')).toBe('118907');
    expect(parseClusterId('Submitting job(s)\n')).toBeUndefined();
  });

  const out = (queue: string, history: string, exitCode = 0) => ({ stdout: `${queue}--- condor_history ---\n${history}`, stderr: '', exitCode });

  it('merges the queue with history (-json prints nothing when nothing matches), the queue winning', () => {
    const queue =
      '[\n{\n  "ClusterId": 12,\n  "JobStatus": 2,\n  "ProcId": 0\n}\n,\n{\n  "ClusterId": 12,\n  "HoldReason": "Error from slot1@n1: Failed to execute \'/x\': (errno=8: \'Exec format error\')",\n  "JobStatus": 5,\n  "ProcId": 1\n}\n]\n';
    const history =
      '[\n{ "ClusterId": 12, "ProcId": 1, "JobStatus": 3, "RemoveReason": "stale" },\n{ "ClusterId": 12, "ProcId": 2, "JobStatus": 4, "ExitCode": 3, "ExitBySignal": false },\n{ "ClusterId": 12, "ProcId": 3, "JobStatus": 4, "ExitBySignal": true, "ExitSignal": 9 }\n]\n';
    expect(parseStatus(out(queue, history))).toEqual([
      { jobId: '12', taskIndex: 0, state: 'Running', reason: undefined, exitCode: undefined },
      { jobId: '12', taskIndex: 1, state: 'Held', reason: "Error from slot1@n1: Failed to execute '/x': (errno=8: 'Exec format error')", exitCode: undefined },
      { jobId: '12', taskIndex: 2, state: 'Completed', reason: undefined, exitCode: '3' },
      { jobId: '12', taskIndex: 3, state: 'Completed', reason: 'killed by signal 9', exitCode: undefined },
    ]);
    expect(parseStatus(out('', ''))).toEqual([]);
  });

  it('a Completed proc that exited non-zero or was killed by a signal failed; one that exited 0 completed', () => {
    const driver = htcondorDriver();
    const history = JSON.stringify([
      { ClusterId: 12, ProcId: 0, JobStatus: 4, ExitCode: 0, ExitBySignal: false },
      { ClusterId: 12, ProcId: 1, JobStatus: 4, ExitCode: 1, ExitBySignal: false },
      { ClusterId: 12, ProcId: 2, JobStatus: 4, ExitBySignal: true, ExitSignal: 9 },
    ]);
    const kinds = parseStatus(out('', history))!.map((status) => classifyStatus(driver, status));
    expect(kinds.map((status) => [status.taskIndex, status.kind])).toEqual([
      [0, 'completed'],
      [1, 'failed'],
      [2, 'failed'],
    ]);
    expect(describeEnd('htcondor', '12.1', kinds[1]!)).toBe('htcondor job 12.1 ended Completed, exit code 1: it failed');
  });

  it('treats a failed or unexpected answer as unknown, not as "no jobs"', () => {
    expect(parseStatus(out('', '', 1))).toBeUndefined();
    expect(parseStatus({ stdout: '[]', stderr: '', exitCode: 0 })).toBeUndefined();
    expect(parseStatus(out('-- Failed to fetch ads', ''))).toBeUndefined();
  });

  it('maps JobStatus: held is an error that fails the launch and is removed; removed and completed have ended', () => {
    const { states } = htcondorDriver().status;
    expect(states.Held).toBe('error');
    expect(isInQueue(states.Held!)).toBe(true);
    for (const state of ['Removed', 'Completed']) expect(isEnded(states[state]!), state).toBe(true);
    for (const state of ['Idle', 'Running', 'TransferringOutput', 'Suspended']) expect(isEnded(states[state]!), state).toBe(false);
  });

  it('counts condor_rm\'s "not found" and "already marked for removal" as done, an unreachable schedd not', () => {
    const { done } = htcondorDriver().cancel;
    expect(done!({ stdout: '', stderr: "\nCouldn't find/remove all jobs in cluster 12\n", exitCode: 1 })).toBe(true);
    expect(done!({ stdout: 'Job 12.0 marked for removal\n', stderr: 'Job 12.1 not found\nJob 12.2 already marked for removal\n', exitCode: 1 })).toBe(true);
    expect(done!({ stdout: '', stderr: "AUTHENTICATE:1003:Failed to authenticate with any method\nCouldn't find/remove all jobs in cluster 45013273\n", exitCode: 1 })).toBe(false);
    expect(done!({ stdout: '', stderr: 'Permission denied to remove job 12.0\n', exitCode: 1 })).toBe(false);
    expect(htcondorDriver().cancel.command(['12', '13'])).toEqual(['condor_rm', '12', '13']);
  });

  it('retries only a schedd that does not answer, and explains hold codes', () => {
    const driver = htcondorDriver();
    expect(driver.submit.transient!.test('\nERROR: Failed to connect to local queue manager\nCEDAR:6001:Failed to connect')).toBe(true);
    expect(driver.submit.transient!.test('\nERROR: Failed to commit job submission into the queue.\nERROR: SCHEDD:2:rejected')).toBe(false);
    expect(driver.explain!.parse({ stdout: '6 8\n', stderr: '', exitCode: 0 })).toMatch(/^hold code 6, subcode 8 \(the execute node could not start the body script/);
    expect(driver.explain!.parse({ stdout: '', stderr: '', exitCode: 0 })).toBeUndefined();
  });
});
