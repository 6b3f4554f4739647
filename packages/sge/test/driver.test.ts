// Unit tests of the Grid Engine declarations: flag mapping, script rendering, parsing what
// SoGE 8.1.9 printed on this machine (fixtures from tooling/schedulers/README.md), the state
// table, option checks and the qrsh command line. No Grid Engine needed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '@cm/core';
import { type ProcessDriver, type SchedulerDriver, isEnded, isInQueue } from '@cm/core/driver';
import { afterAll, describe, expect, it } from 'vitest';
import { QRSHManager, SGEManager, parseErrorReason, parseQstatXml, parseSubmitId, parseTime, remoteLine, sgeHint, stateKind, stateTable } from '../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-sge-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const emptyConfig = path.join(tmp, 'empty.json');
writeFileSync(emptyConfig, '{}');
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

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

const sge = (np: number, options: Record<string, unknown> = {}) => withEnv({ CM_CONFIG: emptyConfig }, () => new SGEManager(np, { logDir: '/shared/logs', ...options }));
const qrsh = (np: number, options: Record<string, unknown> = {}) => withEnv({ CM_CONFIG: emptyConfig }, () => new QRSHManager(np, options));
const directives = (script: string) => script.split('\n').filter((line) => line.startsWith('#$ '));
const queueDriver = (manager: SGEManager) => manager.driver as SchedulerDriver;

describe('job script', () => {
  it('renders one array (-t 1-N) with name, per-task logs in logDir, bash, then the options as one -l list', () => {
    const script = sge(4, { queue: 'all.q', walltime: '01:30:00', memory: '4G', resources: 'tmem=4G', project: 'proj1', wd: '/scratch/me', jobName: 'sim' }).jobScript();
    expect(directives(script)).toEqual([
      '#$ -N sim',
      '#$ -o /shared/logs/sim-L000000000000-$JOB_ID.$TASK_ID.out',
      '#$ -e /shared/logs/sim-L000000000000-$JOB_ID.$TASK_ID.err',
      '#$ -S /bin/bash',
      '#$ -t 1-4',
      '#$ -q all.q',
      '#$ -l h_rt=01:30:00,h_vmem=4G,tmem=4G',
      '#$ -P proj1',
      '#$ -wd /scratch/me',
    ]);
    expect(script).toMatch(/^export CM_TASK_INDEX_VARS=SGE_TASK_ID$/m);
    expect(script).toMatch(/^export CM_TASK_INDEX_BASE=1$/m);
    expect(script).toMatch(/^export CM_JOB_ID_VARS=JOB_ID$/m);
    expect(script).toMatch(/^export CM_ENDS_AT=\$\(\( \(\$\(date \+%s\) \+ 5400\) \* 1000 \)\)$/m);
    expect(script).toMatch(/^# submitted with: qsub -terse \S+\.sh$/m);
  });

  it('maps other keys the single-dash way, free qsubFlags onto the command line, and l/q/P/N to the typed options', () => {
    const script = sge(2, { hold_jid: 12, cwd: false, R: 'y', notify: true, qsubFlags: ['-m', 'e'], l: { h_vmem: '2G', gpu: 1 }, q: 'short.q', P: 'p2', N: 'named' }).jobScript();
    expect(directives(script).slice(5)).toEqual(['#$ -q short.q', '#$ -l h_vmem=2G,gpu=1', '#$ -P p2', '#$ -R y', '#$ -hold_jid 12', '#$ -notify']);
    expect(directives(script)[0]).toBe('#$ -N named');
    expect(script).toMatch(/^# submitted with: qsub -terse -m e \S+\.sh$/m);
  });

  it('asks for the parallel environment per worker in an array, and for all slots in the tasks layout', () => {
    expect(directives(sge(3, { pe: 'smp', slots: 2 }).jobScript())).toContain('#$ -pe smp 2');
    const tasks = sge(3, { layout: 'tasks', pe: 'smp', slots: 2 }).jobScript();
    expect(directives(tasks)).toEqual(expect.arrayContaining(['#$ -pe smp 6', '#$ -v CM_SGE_SLOTS_PER_WORKER=2']));
    expect(directives(tasks).some((line) => line.startsWith('#$ -t'))).toBe(false);
    expect(tasks).toMatch(/^export CM_TASK_INDEX_VARS=CM_SGE_WORKER$/m);
    expect(tasks).toMatch(/^exec \/bin\/bash -c '[^']*PE_HOSTFILE[\s\S]*' cm-sge-tasks \S+node \S+main\.js$/m);
  });

  it('quotes directive words the way Grid Engine reads them (one pair of quotes, no escapes)', () => {
    const driver = queueDriver(sge(1));
    expect(driver.directiveWord!('/a/b-$JOB_ID.$TASK_ID.out')).toBe('/a/b-$JOB_ID.$TASK_ID.out');
    expect(driver.directiveWord!('x=a b')).toBe("'x=a b'");
    expect(driver.directiveWord!("it's")).toBe('"it\'s"');
    expect(directives(sge(1, { ac: 'note=two words' }).jobScript())).toContain("#$ -ac 'note=two words'");
  });
});

describe('what Grid Engine printed (SoGE 8.1.9 on this machine)', () => {
  it('reads the job id of qsub -terse, for a job and an array', () => {
    expect(parseSubmitId('6\n')).toBe('6');
    expect(parseSubmitId('7.1-4:1\n')).toBe('7');
    expect(parseSubmitId('Your job-array 9.1-4:1 ("sleep") has been submitted\n')).toBeUndefined();
    expect(parseSubmitId('a JSV said something\n12\n')).toBe('12');
  });

  it('parses qstat -xml: running tasks one per element, pending tasks folded as a list, plain jobs without a task', () => {
    const statuses = parseQstatXml(fixture('qstat-xml-mixed.xml'))!;
    expect(statuses.filter((s) => s.jobId === '7').map((s) => [s.taskIndex, s.state])).toEqual([
      [1, 'r'],
      [2, 'r'],
      [3, 'r'],
      [4, 'r'],
    ]);
    expect(statuses.filter((s) => s.jobId === '9').map((s) => [s.taskIndex, s.state])).toEqual([
      [1, 'r'],
      [2, 'r'],
      [3, 'qw'],
      [4, 'qw'],
    ]);
    expect(statuses.find((s) => s.jobId === '6')).toEqual({ jobId: '6', taskIndex: null, state: 'r', reason: undefined });
    expect(statuses.filter((s) => s.state === 'qw').map((s) => [s.jobId, s.reason])).toEqual(['9', '9', '10', '11', '12'].map((id) => [id, 'waiting to be scheduled']));
  });

  it('parses an Eqw job, an empty queue, ranges, and refuses what is not qstat XML', () => {
    expect(parseQstatXml(fixture('qstat-xml-eqw.xml'))).toEqual([{ jobId: '13', taskIndex: null, state: 'Eqw', reason: 'error state, see qstat -j' }]);
    expect(parseQstatXml(fixture('qstat-xml-empty.xml'))).toEqual([]);
    const range = '<job_info><job_info><job_list state="pending"><JB_job_number>21</JB_job_number><state>hqw</state><tasks>1-5:2</tasks></job_list></job_info></job_info>';
    expect(parseQstatXml(range)!.map((s) => [s.taskIndex, s.reason])).toEqual([
      [1, 'on hold'],
      [3, 'on hold'],
      [5, 'on hold'],
    ]);
    expect(parseQstatXml('error: commlib error: got select error (Connection refused)')).toBeUndefined();
    const driver = queueDriver(sge(1));
    expect(driver.status.parse({ stdout: '', stderr: 'unable to contact qmaster using port 6444 on host "vm"', exitCode: 1 })).toBeUndefined();
  });

  it('reads the error reason of an Eqw job from qstat -j, without its date and process', () => {
    expect(parseErrorReason({ stdout: fixture('qstat-j-eqw.txt'), stderr: '', exitCode: 0 })).toBe("error: can't chdir to /nonexistent: No such file or directory");
    expect(parseErrorReason({ stdout: '', stderr: 'Following jobs do not exist: \n13\n', exitCode: 1 })).toBeUndefined();
  });

  it('counts a qdel of ids that already ended as done, and nothing else', () => {
    const done = queueDriver(sge(1)).cancel.done!;
    expect(done({ stdout: 'denied: job "27" does not exist\n', stderr: '', exitCode: 1 })).toBe(true);
    expect(done({ stdout: 'denied: job "9999" does not exist\nroot has registered the job 8 for deletion\n', stderr: '', exitCode: 1 })).toBe(true);
    expect(done({ stdout: 'alice - you do not have the necessary privileges to delete the job "12"\n', stderr: '', exitCode: 1 })).toBe(false);
    expect(done({ stdout: '', stderr: 'unable to contact qmaster using port 6444 on host "vm"', exitCode: 1 })).toBe(false);
  });

  it("quotes the reason of a refusal, not qsub's closing `Exiting.`", () => {
    const said = queueDriver(sge(1)).submit.said!;
    expect(said({ stdout: '', stderr: 'Unable to run job: Job was rejected because job requests unknown queue "nope"\nExiting.\n', exitCode: 1 })).toBe(
      'Job was rejected because job requests unknown queue "nope"',
    );
    expect(said({ stdout: '', stderr: 'qsub: invalid option argument "-bogus"\n', exitCode: 2 })).toBe('qsub: invalid option argument "-bogus"');
  });

  it('gives a hint for each refusal observed, and retries only an unreachable qmaster', () => {
    const driver = queueDriver(sge(1));
    expect(sgeHint('Unable to run job: Job was rejected because job requests unknown queue "nope"\nExiting.')).toMatch(/check `queue`/);
    expect(sgeHint('Unable to run job: unknown resource "foo"')).toMatch(/check `resources` and `memory`/);
    expect(sgeHint('Unable to run job: job rejected: the requested parallel environment "mpi" does not exist')).toMatch(/check `pe`/);
    expect(sgeHint('Unable to run job: attribute "h_rt" is not a time value')).toMatch(/check `walltime`/);
    expect(sgeHint('Unable to run job: error: no suitable queues')).toMatch(/no queue can ever run this request/);
    expect(sgeHint('Your "qrsh" request could not be scheduled, try again later.')).toMatch(/leave `now` out/);
    expect(sgeHint('qrsh_starter: cannot change to directory /nonexistent: No such file or directory')).toMatch(/check `wd`/);
    expect(driver.submit.transient!.test('unable to contact qmaster using port 6444 on host "vm"')).toBe(true);
    expect(driver.submit.transient!.test('Unable to run job: Job was rejected because job requests unknown queue "nope"')).toBe(false);
  });
});

describe('state table', () => {
  it('has every combination of letters qstat prints, each live, ended or in error as it means', () => {
    const table = stateTable();
    expect(Object.keys(table)).toHaveLength(2 ** 11 - 1);
    expect(queueDriver(sge(1)).status.states).toEqual(table);
    const kinds = Object.fromEntries(['qw', 'hqw', 'hRqw', 'r', 't', 'Rr', 'Rt', 's', 'S', 'T', 'st', 'dr', 'dt', 'dRr', 'Eqw', 'Ehqw', 'EhRqw'].map((s) => [s, table[s]]));
    expect(kinds).toEqual({
      qw: 'queued',
      hqw: 'held',
      hRqw: 'held',
      r: 'running',
      t: 'starting',
      Rr: 'running',
      Rt: 'starting',
      s: 'suspended',
      S: 'suspended',
      T: 'suspended',
      st: 'suspended',
      dr: 'cancelled',
      dt: 'cancelled',
      dRr: 'cancelled',
      Eqw: 'error',
      Ehqw: 'error',
      EhRqw: 'error',
    });
    for (const [state, kind] of Object.entries(table)) {
      expect(isEnded(kind), state).toBe(state.includes('d') || state.includes('E'));
      expect(isInQueue(kind), state).toBe(!state.includes('d'));
    }
    expect(stateKind('Eqw')).toBe('error');
    // Older documentation writes `ts`; qstat's code prints `st`: both find their row.
    const ts = '<job_info><queue_info><job_list state="running"><JB_job_number>5</JB_job_number><state>ts</state></job_list></queue_info></job_info>';
    expect(parseQstatXml(ts)).toEqual([{ jobId: '5', taskIndex: null, state: 'st', reason: 'suspended, being started' }]);
  });
});

describe('options are checked before anything is submitted', () => {
  it.each([
    [{ t: '1-4' }, /`t` \(-t\): the number of workers sets -t/],
    [{ o: '/tmp/x' }, /`o` \(-o\): job logs go to `logDir`/],
    [{ sync: 'y' }, /`sync` \(-sync\)/],
    [{ S: '/bin/csh' }, /passes -S \/bin\/bash/],
    [{ slots: 2 }, /`slots` counts slots of a parallel environment: set `pe` too/],
    [{ walltime: '1:00:00', resources: 'h_rt=600' }, /`walltime` and `h_rt` in `resources` both set the walltime/],
    [{ walltime: '1 hour' }, /`walltime`: use `\[\[hours:\]minutes:\]seconds`/],
    [{ memory: '4 GB' }, /`memory`: use a size like "4G"/],
    [{ resources: 'h_vmem=4G, tmem=4G' }, /`resources`/],
    [{ layout: 'tasks' }, /the `tasks` layout is one parallel job: set `pe`/],
    [{ ac: `x='a' "b"` }, /cannot read a value holding both ' and "/],
  ])('refuses %j with a message naming the option', (options, message) => {
    expect(() => sge(2, options)).toThrow(UsageError);
    expect(() => sge(2, options)).toThrow(message);
  });

  it('refuses a name qsub does not have, naming the one meant', () => {
    expect(() => sge(2, { queu: 'all.q' })).toThrow(/`queu` is not a sge option \(did you mean `queue`\?\); pass other sge flags as words in `submitFlags` \(or `qsubFlags`, `qrshFlags`\)/);
    expect(() => sge(2, { holdJd: 3 })).toThrow(/did you mean `holdJid`/);
    expect(() => qrsh(2, { inherit: true })).toThrow(/qrsh -inherit starts a task inside a running job/);
  });

  it('learns the walltime from `walltime` or from h_rt in the resource list', () => {
    expect(parseTime('01:30:00')).toBe(5400);
    expect(parseTime('90:00')).toBe(5400);
    expect(parseTime(5400)).toBe(5400);
    expect(sge(1, { resources: 'h_rt=0:10:0' }).jobScript()).toMatch(/\+ 600\) \* 1000/);
  });
});

describe('running limit', () => {
  it('with -tc K below np, addprocs waits for K workers and the rest join as slots free', () => {
    const throttled = sge(4, { tc: 2 });
    expect(throttled.expectedWorkers).toBe(2);
    expect(directives(throttled.jobScript())).toEqual(expect.arrayContaining(['#$ -t 1-4', '#$ -tc 2']));
    expect(sge(4, { tc: 8 }).expectedWorkers).toBe(4);
  });
});

describe('qrsh', () => {
  const command = (manager: QRSHManager, worker = ['/usr/bin/node', '/x/main.js']) => {
    const driver = manager.driver as ProcessDriver;
    const flags = (manager as unknown as { optionFlags(): string[][] }).optionFlags();
    return driver.processes.command({ np: 1, index: 0, place: undefined, flags, extraFlags: ['-verbose'], worker });
  };

  it('runs one `qrsh -now no -V` per worker with the typed options, the worker as one quoted line', () => {
    expect(command(qrsh(2, { queue: 'all.q', resources: 'h_vmem=4G', pe: 'smp', slots: 2, wd: '/scratch' }))).toEqual([
      'qrsh',
      '-now',
      'no',
      '-V',
      '-q',
      'all.q',
      '-l',
      'h_vmem=4G',
      '-wd',
      '/scratch',
      '-pe',
      'smp',
      '2',
      '-verbose',
      '/usr/bin/node /x/main.js',
    ]);
    expect(command(qrsh(1), ['/opt/my node/node', '--max-old-space-size=512', '/x/main.js']).at(-1)).toBe("'/opt/my node/node' --max-old-space-size=512 /x/main.js");
  });

  it('tells a worker of a qrsh job with h_rt when its job ends', () => {
    expect(command(qrsh(1, { walltime: 600 })).at(-1)).toBe(remoteLine(['/usr/bin/node', '/x/main.js'], 600));
    expect(remoteLine(['/usr/bin/node', '/x/main.js'], 600)).toBe("/bin/sh -c 'export CM_ENDS_AT=$(( ($(date +%s) + 600) * 1000 )); exec /usr/bin/node /x/main.js'");
  });

  it('shares the sge site section and CM_SGE_* variables with SGEManager', () => {
    const file = path.join(tmp, 'site.json');
    writeFileSync(file, JSON.stringify({ sge: { queue: 'all.q', memoryResource: 'mem_free', memory: '2G' } }));
    const q = withEnv({ CM_CONFIG: file, CM_SGE_PROJECT: 'p9' }, () => new QRSHManager(1));
    expect(command(q)).toEqual(expect.arrayContaining(['-q', 'all.q', '-l', 'mem_free=2G', '-P', 'p9']));
    const s = withEnv({ CM_CONFIG: file, CM_SGE_WALLTIME: '600' }, () => new SGEManager(1, { logDir: '/l' }));
    expect(directives(s.jobScript())).toEqual(expect.arrayContaining(['#$ -q all.q', '#$ -l h_rt=600,mem_free=2G']));
    expect(() => withEnv({ CM_CONFIG: file, CM_SGE_SLOTS: 'two' }, () => new SGEManager(1))).toThrow(/`slots` \(from CM_SGE_SLOTS\)/);
  });
});
