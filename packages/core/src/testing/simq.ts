#!/usr/bin/env node
/**
 * simq: a small, real batch scheduler for tests, running jobs as processes on this machine.
 * It behaves like the real ones where @cm depends on it: `#SIMQ` directives read up to the
 * first command, job arrays, a held state, walltime kills, log files with `%j`/`%A`/`%a`
 * placeholders, the submit environment exported to the job, refusals on stderr with exit 1,
 * and silent cancellation of finished or unknown jobs.
 *
 *   simq submit SCRIPT          → `Submitted job 12` (SCRIPT `-`: read it from stdin)
 *   simq submit SUBMIT-FILE     a file starting `# simq submit file`: `key = value` lines
 *                               (executable, name, output, error, array, ntasks, hold, time, queue)
 *   simq status ID...           → `12 RUNNING -`, `13_0 PENDING Resources`… (unknown ids omitted)
 *   simq cancel ID...           (`12` or `12_3`)
 *   simq tasks CMD ARGS...      inside a job: run SIMQ_NTASKS copies with SIMQ_PROCID=0..n-1
 *   simq place N                → N node names, one per line (`SIMQ_NODES`, default 4 nodes; fewer → exit 1)
 *   simq exec [--orphan] NODE CMD ARGS...
 *                               run CMD in the foreground "on NODE" (SIMQ_NODE set), exit with its
 *                               status; SIGTERM is passed on, unless --orphan (like Scyld's bpsh,
 *                               where ending the local command leaves the remote one running;
 *                               it then prints `simq: remote pid N` first)
 *   simq kill NODE PID          end a process started by `simq exec` (SIGTERM)
 *
 * State lives in `$SIMQ_DIR` (default: a directory in the system temp dir).
 * Directives: --name=, --output=, --error=, --array=A-B, --ntasks=N, --hold, --time=SECONDS,
 * --queue=NAME (one of `$SIMQ_QUEUES`, default `main,short`), --flaky=N (the first N submissions
 * of this script fail transiently).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Job {
  id: number;
  name: string;
  script: string;
  cwd: string;
  output: string;
  error: string;
  array: [number, number] | null;
  ntasks: number;
  hold: boolean;
  timeSeconds: number | null;
}

interface TaskState {
  state: string;
  reason?: string;
  pid?: number;
  exitCode?: number;
}

const root = process.env.SIMQ_DIR ?? path.join(os.tmpdir(), `cm-simq-${os.userInfo().uid}`);
const jobsDir = path.join(root, 'jobs');

function fail(message: string, code = 1): never {
  process.stderr.write(`simq: error: ${message}\n`);
  process.exit(code);
}

const jobDir = (id: number | string) => path.join(jobsDir, String(id));
const readJson = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined);
const taskFile = (id: number, task: number | null) => path.join(jobDir(id), `task-${task ?? 'job'}.json`);
const tasksOf = (job: Job): (number | null)[] => (job.array ? Array.from({ length: job.array[1] - job.array[0] + 1 }, (_, i) => job.array![0] + i) : [null]);
const isCancelled = (id: number, task: number | null) => existsSync(path.join(jobDir(id), `cancelled-${task ?? 'job'}`)) || existsSync(path.join(jobDir(id), 'cancelled-job'));
const displayId = (id: number, task: number | null) => (task === null ? String(id) : `${id}_${task}`);

function parseDirectives(script: string): Record<string, string> {
  const directives: Record<string, string> = {};
  for (const line of readFileSync(script, 'utf8').split('\n').slice(1)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('#')) break;
    const match = /^#SIMQ\s+--([a-z-]+)(?:=(.*))?$/.exec(trimmed);
    if (!match) continue;
    directives[match[1]!] = (match[2] ?? '').replace(/^'(.*)'$/, '$1');
  }
  return directives;
}

function parseSubmitFile(file: string): Record<string, string> | undefined {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[0]?.trim() !== '# simq submit file') return undefined;
  const values: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const match = /^\s*([a-z]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

function submit(given: string): void {
  let script = given;
  if (given === '-') {
    // The script on stdin (like `bsub < job.sh`): keep a copy to run.
    mkdirSync(root, { recursive: true });
    script = path.join(root, `stdin-${process.pid}-${Date.now()}.sh`);
    writeFileSync(script, readFileSync(0));
  }
  if (!script || !existsSync(script)) fail(`cannot read job script ${script}`);
  const file = parseSubmitFile(script);
  if (file && !file.executable) fail('submit file has no executable', 2);
  const d = file ?? parseDirectives(script);
  if (file) {
    script = file.executable!;
    delete d.executable;
  }
  const known = ['name', 'output', 'error', 'array', 'ntasks', 'hold', 'time', 'queue', 'flaky'];
  const unknown = Object.keys(d).find((key) => !known.includes(key));
  if (unknown) fail(`unrecognized directive --${unknown}`, 2);
  const queues = (process.env.SIMQ_QUEUES ?? 'main,short').split(',');
  if (d.queue !== undefined && !queues.includes(d.queue)) fail(`invalid queue specified: ${d.queue}`);
  mkdirSync(jobsDir, { recursive: true });
  if (d.flaky) {
    const counter = path.join(root, `flaky-${Buffer.from(script).toString('base64url')}`);
    const seen = Number(existsSync(counter) ? readFileSync(counter, 'utf8') : '0');
    writeFileSync(counter, String(seen + 1));
    if (seen < Number(d.flaky)) fail('controller busy, try again later');
  }
  const array = d.array ? (/^(\d+)-(\d+)$/.exec(d.array)?.slice(1).map(Number) as [number, number] | undefined) : null;
  if (array === undefined || (array && array[0] > array[1])) fail(`invalid array specification: ${d.array}`);
  let id = readdirSync(jobsDir).reduce((max, name) => Math.max(max, Number(name) || 0), 0) + 1;
  for (; ; id++) {
    try {
      mkdirSync(jobDir(id));
      break;
    } catch {
      // taken by a concurrent submission: try the next id
    }
  }
  const job: Job = {
    id,
    name: d.name ?? path.basename(script),
    script: path.resolve(script),
    cwd: given === '-' ? process.cwd() : path.dirname(path.resolve(script)),
    output: d.output ?? path.join(process.cwd(), 'simq-%j.out'),
    error: d.error ?? path.join(process.cwd(), 'simq-%j.err'),
    array,
    ntasks: Number(d.ntasks ?? 1),
    hold: d.hold !== undefined,
    timeSeconds: d.time ? Number(d.time) : null,
  };
  writeFileSync(path.join(jobDir(id), 'job.json'), JSON.stringify(job));
  if (!job.hold) {
    // The job inherits the submitting environment, as sbatch's default --export=ALL does.
    spawn(process.execPath, [fileURLToPath(import.meta.url), 'run', String(id)], { detached: true, stdio: 'ignore' }).unref();
  }
  process.stdout.write(`Submitted job ${id}\n`);
}

function logName(pattern: string, job: Job, task: number | null): string {
  const taskId = task === null ? String(job.id) : `${job.id}_${task}`;
  return pattern
    .replaceAll('%j', taskId)
    .replaceAll('%A', String(job.id))
    .replaceAll('%a', String(task ?? 0));
}

/** The runner: start each task of a job, record how it ends, enforce its walltime. */
function run(id: number): void {
  const job = readJson<Job>(path.join(jobDir(id), 'job.json'));
  if (!job) fail(`no job ${id}`);
  for (const task of tasksOf(job)) {
    if (isCancelled(id, task)) continue;
    const out = openSync(logName(job.output, job, task), 'a');
    const err = openSync(logName(job.error, job, task), 'a');
    const env = {
      ...process.env,
      SIMQ_JOB_ID: task === null ? String(id) : `${id}_${task}`,
      SIMQ_NTASKS: String(job.ntasks),
      ...(task === null ? {} : { SIMQ_ARRAY_JOB_ID: String(id), SIMQ_ARRAY_TASK_ID: String(task) }),
    };
    const child = spawn('/bin/bash', [job.script], { env, stdio: ['ignore', out, err], detached: true, cwd: job.cwd });
    closeSync(out);
    closeSync(err);
    writeFileSync(taskFile(id, task), JSON.stringify({ state: 'RUNNING', pid: child.pid } satisfies TaskState));
    // A cancel that came between the check above and now found no pid to kill.
    if (isCancelled(id, task)) killGroup(child.pid, 'SIGTERM');
    let timedOut = false;
    const timer = job.timeSeconds
      ? setTimeout(() => {
          timedOut = true;
          killGroup(child.pid, 'SIGTERM');
        }, job.timeSeconds * 1000)
      : undefined;
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const state: TaskState = isCancelled(id, task)
        ? { state: 'CANCELLED', exitCode: code ?? 0 }
        : timedOut
          ? { state: 'TIMEOUT', reason: 'TimeLimit', exitCode: code ?? 0 }
          : code === 0
            ? { state: 'COMPLETED', exitCode: 0 }
            : { state: 'FAILED', reason: signal ? `killed by ${signal}` : 'NonZeroExitCode', exitCode: code ?? 128 };
      writeFileSync(taskFile(id, task), JSON.stringify(state));
    });
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function status(ids: string[]): void {
  const lines: string[] = [];
  for (const raw of ids.flatMap((arg) => arg.split(','))) {
    const id = Number(raw);
    const job = readJson<Job>(path.join(jobDir(id), 'job.json'));
    if (!job) continue;
    for (const task of tasksOf(job)) {
      const recorded = readJson<TaskState>(taskFile(id, task));
      const state = recorded ?? (isCancelled(id, task) ? { state: 'CANCELLED' } : job.hold ? { state: 'HELD', reason: 'JobHeldUser' } : { state: 'PENDING', reason: 'Resources' });
      lines.push(`${displayId(id, task)} ${state.state} ${state.reason ?? '-'} ${state.exitCode ?? '-'}`);
    }
  }
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

function cancel(ids: string[]): void {
  for (const raw of ids.flatMap((arg) => arg.split(','))) {
    const [idText, taskText] = raw.split('_');
    const id = Number(idText);
    const job = readJson<Job>(path.join(jobDir(id), 'job.json'));
    if (!job) continue;
    const targets = taskText === undefined ? tasksOf(job) : [Number(taskText)];
    writeFileSync(path.join(jobDir(id), `cancelled-${taskText ?? 'job'}`), '');
    for (const task of targets) {
      const recorded = readJson<TaskState>(taskFile(id, task));
      if (recorded?.state === 'RUNNING') killGroup(recorded.pid, 'SIGTERM');
    }
  }
}

/** Inside a job: start SIMQ_NTASKS copies of a command, like srun, and exit with the worst status. */
function tasks(argv: string[]): void {
  const [file, ...args] = argv;
  if (!file) fail('tasks: no command given', 2);
  const n = Number(process.env.SIMQ_NTASKS ?? 1);
  const children: ChildProcess[] = [];
  let worst = 0;
  let running = n;
  for (let i = 0; i < n; i++) {
    const child = spawn(file, args, { env: { ...process.env, SIMQ_PROCID: String(i) }, stdio: 'inherit' });
    children.push(child);
    child.on('exit', (code) => {
      worst = Math.max(worst, code ?? 1);
      if (--running === 0) process.exit(worst);
    });
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => children.forEach((c) => c.kill(signal)));
}

function nodes(): string[] {
  const count = Number(process.env.SIMQ_NODES ?? 4);
  return Array.from({ length: count }, (_, i) => `sim${i}`);
}

function place(np: number): void {
  const all = nodes();
  if (!Number.isInteger(np) || np < 1) fail(`place: need a count >= 1, got ${String(np)}`, 2);
  if (np > all.length) fail(`only ${all.length} nodes are up, ${np} requested`);
  process.stdout.write(`${all.slice(0, np).join('\n')}\n`);
}

/** Run a command "on a node" in the foreground, like qrsh or bpsh. */
function exec(argv: string[]): void {
  const orphan = argv[0] === '--orphan';
  const [node, file, ...args] = orphan ? argv.slice(1) : argv;
  if (!node || !file) fail('exec: usage: simq exec [--orphan] NODE CMD ARGS...', 2);
  if (!nodes().includes(node)) fail(`exec: node ${node} is down or does not exist`);
  const child = spawn(file, args, { env: { ...process.env, SIMQ_NODE: node }, stdio: 'inherit', detached: orphan });
  child.on('error', (error) => fail(`exec: cannot run ${file}: ${error.message}`, 127));
  // Like a launcher that reports where its command runs, so it can be stopped before it says anything itself.
  if (orphan && child.pid) process.stdout.write(`simq: remote pid ${child.pid}\n`);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1)));
  if (!orphan) for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
}

function killOnNode(node: string | undefined, pid: number): void {
  if (!node || !nodes().includes(node)) fail(`kill: node ${String(node)} is down or does not exist`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    fail(`kill: (${pid}) - No such process`);
  }
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'submit') submit(rest[0] ?? '');
else if (command === 'run') run(Number(rest[0]));
else if (command === 'status') status(rest);
else if (command === 'cancel') cancel(rest);
else if (command === 'tasks') tasks(rest);
else if (command === 'place') place(Number(rest[0]));
else if (command === 'exec') exec(rest);
else if (command === 'kill') killOnNode(rest[0], Number(rest[1]));
else fail(`usage: simq submit SCRIPT | status ID... | cancel ID... | tasks CMD... | place N | exec [--orphan] NODE CMD... | kill NODE PID`, 2);
