// @ts-check
/**
 * The engine shared by every scheduler simulator (PBS Pro, Torque, LSF, HTCondor, Scyld):
 * state on disk, job ids, job records, a detached runner that really runs each task as a
 * local process group, cancellation, failure injection and a log of every command call.
 * Front-ends (the fake `qsub`, `bsub`, ...) own the scheduler's text and semantics; the
 * engine owns processes and files, so the five simulators behave alike where the real
 * schedulers do. Plain ESM with Node built-ins only: bin dirs go first on PATH, no build.
 *
 * ## State directory (`$CM_SIM_DIR`, one per simulator instance / test)
 *   config.json                 `{ kind, ...options }` written by createSimulator (index.mjs)
 *   inject.json, inject-used.json   failure injection (see below) and what was consumed
 *   seq                         last job id handed out
 *   log.jsonl                   one JSON line per command invocation (see logCommand)
 *   processes/<pid>.json        live processes the simulator started (runners, tasks, extra)
 *   jobs/<id>/job.json          the JobRecord
 *   jobs/<id>/tasks/<key>.json  one TaskRecord per task (key = index, or `main`)
 *   jobs/<id>/cancel/<key|all>.json   cancel requests, read by the runner
 *   jobs/<id>/spool/<key>.{out,err}   output spooled until the task ends (delivery 'end')
 *
 * ## API (stable; front-ends import from this file)
 *   simDir(): string                         $CM_SIM_DIR, or exits 2 with a message
 *   readConfig(dir): object                  config.json
 *   nextJobId(dir, first = 1): number        atomic per-simulator counter
 *   createJob(dir, JobInit): JobRecord       writes job.json, applies the `pending` injection
 *                                            (stuck), starts the runner unless held/stuck
 *   readJob(dir, id): JobRecord | undefined; listJobs(dir): JobRecord[] (by id)
 *   updateJob(dir, id, (job) => void): JobRecord   edit `meta` etc. under a lock
 *   taskRecords(dir, job): TaskRecord[]      one per job.tasks entry, in order
 *   taskKey(index): string                   `main` for null, else the index
 *   release(dir, id)                         held → dispatched (starts the runner)
 *   cancel(dir, id, CancelRequest)           pending tasks never start, running ones are
 *                                            killed with req.signals then SIGKILL after graceMs
 *   takeInjection(dir, ...channels): Rule | undefined   consumes one use of the first live rule
 *   readInjection(dir): object               the raw inject.json (front-end-specific rules)
 *   writeInjection(dir, spec)                (tests) replace rules and reset use counts
 *   logCommand(dir, entry)                   append one invocation to log.jsonl
 *   runCommand(name, main)                   bin helper: buffers stdout/stderr, logs, exits
 *   registerProcess(dir, pid, label) / unregisterProcess(dir, pid) / liveProcesses(dir)
 *   killAll(dir)                             SIGKILL every registered process group
 *
 * ## JobInit (what a front-end gives createJob)
 *   { id, kind, hold?: boolean, maxRunning?: number, walltimeMs?: number,
 *     kill?: { signals?: string[] (default ['SIGTERM']), graceMs?: number (default 10000) },
 *     spawn: SpawnSpec,                     common to all tasks
 *     tasks: Array<{ index: number|null } & Partial<SpawnSpec>>   per-task overrides;
 *                                            `env` here is MERGED over spawn.env
 *     onTaskEnd?: { module: string (absolute), export: string },
 *     onTaskStart?: { module, export }  called `await fn({ job, task, record, dir })` right after
 *                                            the record says 'running' (errors are ignored),
 *     meta?: any }                          free-form (queue, name, options, ...)
 * SpawnSpec = { argv: string[], argv0?: string, cwd: string, env: Record<string,string>
 *   (used AS IS), stdin?: string|null (file), stdout?: Sink|null, stderr?: Sink|'stdout'|null,
 *   delivery?: 'end'|'direct' }   Sink = { path: string, append?: boolean }; null = /dev/null.
 *   'direct' writes the sinks while the task runs; 'end' spools and copies at task end.
 *
 * ## TaskRecord
 *   { index, state: 'pending'|'running'|'ended', pid?, startedAt?, endedAt? (ms),
 *     exitCode?: number|null, signal?: string|null,
 *     cause?: 'exit'|'walltime'|'cancelled'|'spawn-error'|'injected-kill',
 *     reason?: string, errno?: string (spawn-error), verdict?: any (from the cancel request),
 *     deliveryError?: string }
 * The end hook runs when a task ended (any cause), BEFORE delivery and before the record
 * says 'ended': `await fn({ job, task, record, dir, spool: { stdout, stderr } })` where
 * `record` is the ended record-to-be (the hook may add fields) and spool paths are set
 * with delivery 'end' (append a job report there, it is delivered after).
 *
 * ## Failure injection (inject.json; written by the test API `inject(spec)`)
 *   { <channel>: Rule | Rule[] | 'stuck', ... }   Rule = { kind: string, times?: number|'always',
 *   ...any }. Channels used by front-ends: 'submit', 'status', 'cancel' (or a command name),
 *   'pending' (kind 'stuck': createJob leaves the job queued until cancelled), 'kill'
 *   ({ afterMs, reason?, verdict?, signals? }: the runner kills the task, cause 'injected-kill').
 *   `times` defaults to 1; rules of a channel are used in order.
 *
 * ## CancelRequest
 *   { index?: number|null (omit = every task), cause?: 'cancelled'|'injected-kill',
 *     reason?: string, verdict?: any, signals?: string[], graceMs?: number }
 * @module
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {{ path: string, append?: boolean }} Sink */
/** @typedef {{ argv: string[], argv0?: string, cwd: string, env: Record<string, string>, stdin?: string | null, stdout?: Sink | null, stderr?: Sink | 'stdout' | null, delivery?: 'end' | 'direct' }} SpawnSpec */
/** @typedef {{ index: number | null } & Partial<SpawnSpec>} TaskInit */
/** @typedef {{ id: number, kind: string, hold?: boolean, maxRunning?: number, walltimeMs?: number, kill?: { signals?: string[], graceMs?: number }, spawn: SpawnSpec, tasks: TaskInit[], onTaskEnd?: { module: string, export: string }, onTaskStart?: { module: string, export: string }, meta?: any }} JobInit */
/** @typedef {JobInit & { createdAt: number, dispatch: 'runner' | 'held' | 'stuck', meta: any }} JobRecord */
/** @typedef {{ index: number | null, state: 'pending' | 'running' | 'ended', pid?: number, startedAt?: number, endedAt?: number, exitCode?: number | null, signal?: string | null, cause?: 'exit' | 'walltime' | 'cancelled' | 'spawn-error' | 'injected-kill', reason?: string, errno?: string, verdict?: any, deliveryError?: string }} TaskRecord */
/** @typedef {{ index?: number | null, cause?: 'cancelled' | 'injected-kill', reason?: string, verdict?: any, signals?: string[], graceMs?: number }} CancelRequest */
/** @typedef {{ kind: string, times?: number | 'always', [key: string]: any }} Rule */

const RUNNER = fileURLToPath(new URL('./runner.mjs', import.meta.url));

/** @returns {string} */
export function simDir() {
  const dir = process.env.CM_SIM_DIR;
  if (!dir || !fs.existsSync(dir)) {
    process.stderr.write(
      `${path.basename(process.argv[1] ?? 'simulator')}: CM_SIM_DIR is not set or missing (${dir ?? 'unset'}); start this simulator through createSimulator() from tooling/simulators/index.mjs\n`,
    );
    process.exit(2);
  }
  return dir;
}

/** @param {string} file */
export function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Write through a temporary file and rename, so readers never see half a file. @param {string} file @param {unknown} value */
export function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

/** @param {number} ms */
export function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Run fn while holding a directory lock; a lock older than 10 s is a crashed holder's.
 * @template T @param {string} dir @param {string} name @param {() => T} fn @returns {T}
 */
export function withLock(dir, name, fn) {
  const lock = path.join(dir, `${name}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error;
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10_000) fs.rmSync(lock, { recursive: true, force: true });
      else if (attempt > 1000) throw new Error(`lock ${lock} held for too long; remove it if no simulator command is running`);
      else sleepSync(5);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** @param {string} dir */
export const readConfig = (dir) => readJson(path.join(dir, 'config.json')) ?? {};

/** @param {string} dir @param {number} [first] */
export function nextJobId(dir, first = 1) {
  return withLock(dir, 'seq', () => {
    const file = path.join(dir, 'seq');
    const last = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : first - 1;
    const id = last + 1;
    fs.writeFileSync(file, String(id));
    return id;
  });
}

const jobDir = (/** @type {string} */ dir, /** @type {number} */ id) => path.join(dir, 'jobs', String(id));
/** @param {number | null} index */
export const taskKey = (index) => (index === null ? 'main' : String(index));
export const taskFile = (/** @type {string} */ dir, /** @type {number} */ id, /** @type {number | null} */ index) => path.join(jobDir(dir, id), 'tasks', `${taskKey(index)}.json`);
export const spoolFiles = (/** @type {string} */ dir, /** @type {number} */ id, /** @type {number | null} */ index) => ({
  stdout: path.join(jobDir(dir, id), 'spool', `${taskKey(index)}.out`),
  stderr: path.join(jobDir(dir, id), 'spool', `${taskKey(index)}.err`),
});

/** @param {string} dir @param {number} id @returns {JobRecord | undefined} */
export const readJob = (dir, id) => readJson(path.join(jobDir(dir, id), 'job.json'));

/** @param {string} dir @returns {JobRecord[]} */
export function listJobs(dir) {
  const root = path.join(dir, 'jobs');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map(Number)
    .filter((id) => Number.isInteger(id))
    .sort((a, b) => a - b)
    .map((id) => readJob(dir, id))
    .filter((job) => job !== undefined);
}

/** @param {string} dir @param {number} id @param {(job: JobRecord) => void} edit */
export function updateJob(dir, id, edit) {
  return withLock(jobDir(dir, id), 'job', () => {
    const job = readJob(dir, id);
    if (!job) throw new Error(`no job ${id} in ${dir}`);
    edit(job);
    writeJson(path.join(jobDir(dir, id), 'job.json'), job);
    return job;
  });
}

/** @param {string} dir @param {JobRecord} job @returns {TaskRecord[]} */
export const taskRecords = (dir, job) => job.tasks.map((t) => readJson(taskFile(dir, job.id, t.index)) ?? { index: t.index, state: 'pending' });

/** @param {string} dir @param {JobInit} init @returns {JobRecord} */
export function createJob(dir, init) {
  const stuck = takeInjection(dir, 'pending')?.kind === 'stuck';
  /** @type {JobRecord} */
  const job = { ...init, meta: init.meta ?? {}, createdAt: Date.now(), dispatch: stuck ? 'stuck' : init.hold ? 'held' : 'runner' };
  fs.mkdirSync(path.join(jobDir(dir, job.id), 'tasks'), { recursive: true });
  writeJson(path.join(jobDir(dir, job.id), 'job.json'), job);
  if (job.dispatch === 'runner') startRunner(dir, job.id);
  return job;
}

/** @param {string} dir @param {number} id */
function startRunner(dir, id) {
  const child = spawn(process.execPath, [RUNNER, dir, String(id)], { detached: true, stdio: 'ignore', cwd: dir, env: { CM_SIM_DIR: dir, PATH: process.env.PATH ?? '' } });
  if (child.pid) registerProcess(dir, child.pid, `runner ${id}`);
  child.unref();
}

/** @param {string} dir @param {number} id */
export function release(dir, id) {
  const job = readJob(dir, id);
  if (!job || job.dispatch === 'runner') return;
  updateJob(dir, id, (j) => {
    j.dispatch = 'runner';
    j.hold = false;
  });
  startRunner(dir, id);
}

/** @param {string} dir @param {number} id @param {CancelRequest} [request] */
export function cancel(dir, id, request = {}) {
  const job = readJob(dir, id);
  if (!job) return;
  const req = { cause: 'cancelled', ...request, at: Date.now() };
  const key = req.index === undefined ? 'all' : taskKey(req.index);
  writeJson(path.join(jobDir(dir, id), 'cancel', `${key}.json`), req);
  if (job.dispatch !== 'runner') {
    // No runner will ever look at this job: end its pending tasks here.
    for (const record of taskRecords(dir, job)) {
      if (record.state !== 'pending' || (req.index !== undefined && req.index !== record.index)) continue;
      writeJson(taskFile(dir, id, record.index), {
        index: record.index,
        state: 'ended',
        endedAt: Date.now(),
        exitCode: null,
        signal: null,
        cause: req.cause,
        reason: req.reason,
        verdict: req.verdict,
      });
    }
  }
}

/** The newest cancel request for a task (a task's own, or the job's). @param {string} dir @param {number} id @param {number | null} index @returns {CancelRequest & { at: number } | undefined} */
export function cancelRequest(dir, id, index) {
  const own = readJson(path.join(jobDir(dir, id), 'cancel', `${taskKey(index)}.json`));
  const all = readJson(path.join(jobDir(dir, id), 'cancel', 'all.json'));
  if (own && all) return own.at >= all.at ? own : all;
  return own ?? all;
}

// ---- failure injection ----

/** @param {string} dir */
export const readInjection = (dir) => readJson(path.join(dir, 'inject.json')) ?? {};

/** @param {string} dir @param {object} spec */
export function writeInjection(dir, spec) {
  withLock(dir, 'inject', () => {
    writeJson(path.join(dir, 'inject.json'), spec);
    writeJson(path.join(dir, 'inject-used.json'), {});
  });
}

/** @param {unknown} value @returns {Rule[]} */
const rulesOf = (value) => (value === undefined || value === null ? [] : Array.isArray(value) ? value : typeof value === 'string' ? [{ kind: value, times: 'always' }] : [/** @type {Rule} */ (value)]);

/** @param {string} dir @param {...string} channels @returns {Rule | undefined} */
export function takeInjection(dir, ...channels) {
  if (!fs.existsSync(path.join(dir, 'inject.json'))) return undefined;
  return withLock(dir, 'inject', () => {
    const spec = readInjection(dir);
    const used = readJson(path.join(dir, 'inject-used.json')) ?? {};
    for (const channel of channels) {
      const rules = rulesOf(spec[channel]);
      for (let i = 0; i < rules.length; i++) {
        const rule = /** @type {Rule} */ (rules[i]);
        const key = `${channel}.${i}`;
        const times = rule.times ?? 1;
        if (times !== 'always' && (used[key] ?? 0) >= times) continue;
        used[key] = (used[key] ?? 0) + 1;
        writeJson(path.join(dir, 'inject-used.json'), used);
        return rule;
      }
    }
    return undefined;
  });
}

// The command log and the bin helper live in command.mjs; re-exported so bins import one module.
export { logCommand, readLog, runCommand } from './command.mjs';
/** @typedef {import('./command.mjs').CommandContext} CommandContext */

// ---- processes ----

/** @param {string} dir @param {number} pid @param {string} label */
export function registerProcess(dir, pid, label) {
  writeJson(path.join(dir, 'processes', `${pid}.json`), { pid, label, at: Date.now() });
}

/** @param {string} dir @param {number} pid */
export function unregisterProcess(dir, pid) {
  fs.rmSync(path.join(dir, 'processes', `${pid}.json`), { force: true });
}

/** Alive and not a zombie (a reaped-late child still answers kill(pid, 0)). @param {number} pid */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EPERM') return false;
  }
  return procStat(pid)?.state !== 'Z';
}

/** State and parent from /proc (Linux). @param {number} pid @returns {{ state: string, ppid: number } | undefined} */
function procStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** @param {string} dir @returns {{ pid: number, label: string }[]} */
export function liveProcesses(dir) {
  const root = path.join(dir, 'processes');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((name) => name.endsWith('.json'))
    .map((name) => readJson(path.join(root, name)))
    .filter((p) => p && isAlive(p.pid));
}

/**
 * SIGKILL every registered process group. Runners are stopped first and their children found
 * through /proc, so a task started just before its runner died is not missed.
 * @param {string} dir
 */
export function killAll(dir) {
  const live = liveProcesses(dir);
  const runners = live.filter((p) => p.label.startsWith('runner')).map((p) => p.pid);
  for (const pid of runners) signal(pid, 'SIGSTOP');
  const children = fs.existsSync('/proc')
    ? fs
        .readdirSync('/proc')
        .map(Number)
        .filter((pid) => pid > 0 && runners.includes(procStat(pid)?.ppid ?? -1))
    : [];
  for (const pid of [...live.map((p) => p.pid), ...children]) {
    signal(-pid, 'SIGKILL');
    signal(pid, 'SIGKILL');
  }
  for (const pid of live.map((p) => p.pid)) if (!isAlive(pid)) unregisterProcess(dir, pid);
}

/** @param {number} target @param {NodeJS.Signals} name */
function signal(target, name) {
  try {
    process.kill(target, name);
  } catch {
    // gone already, or not a group leader
  }
}
