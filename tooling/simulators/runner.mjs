// @ts-check
/**
 * The detached runner of one simulated job: `node runner.mjs <stateDir> <jobId>`.
 * It plays the part of the execution daemon (PBS MOM, LSF sbatchd, HTCondor starter): starts
 * each task as its own process group in index order within `maxRunning`, enforces walltime,
 * carries out cancel requests and injected kills, reaps leftover processes of a finished
 * task, runs the front-end's end hook, delivers spooled output and records how each task
 * ended. Only this process writes the task records of a dispatched job, so there is one writer.
 * @module
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cancelRequest, readJob, readJson, registerProcess, spoolFiles, takeInjection, taskFile, taskKey, unregisterProcess, writeJson } from './engine.mjs';

/** @typedef {import('./engine.mjs').SpawnSpec} SpawnSpec */
/** @typedef {import('./engine.mjs').TaskRecord} TaskRecord */
/** @typedef {import('./engine.mjs').CancelRequest} CancelRequest */
/**
 * @typedef {{ index: number | null, spec: SpawnSpec, pid: number, startedAt: number, handledCancelAt: number,
 *   kill?: { cause: NonNullable<TaskRecord['cause']>, reason?: string, verdict?: any, escalated: boolean },
 *   timers: NodeJS.Timeout[] }} Running
 */

const POLL_MS = 100;
const [dir = '', idText = ''] = process.argv.slice(2);
/** @type {import('./engine.mjs').JobRecord} */
const job = readJob(dir, Number(idText)) ?? process.exit(1);
registerProcess(dir, process.pid, `runner ${job.id}`);

/** @param {import('./engine.mjs').TaskInit} task @returns {SpawnSpec} */
const specOf = (task) => ({ ...job.spawn, ...task, env: { ...job.spawn.env, ...(task.env ?? {}) } });

const pending = job.tasks.filter((t) => (readJson(taskFile(dir, job.id, t.index))?.state ?? 'pending') === 'pending');
/** @type {Map<string, Running>} */
const running = new Map();
let finishing = 0;
const limit = job.maxRunning && job.maxRunning > 0 ? job.maxRunning : Infinity;

/** @param {number} pid @param {string} signal */
function signalGroup(pid, signal) {
  try {
    process.kill(-pid, /** @type {NodeJS.Signals} */ (signal));
  } catch {
    // the group is gone
  }
}

/** @param {Running} entry @param {{ cause: NonNullable<TaskRecord['cause']>, reason?: string, verdict?: any, signals?: string[], graceMs?: number }} how */
function beginKill(entry, how) {
  const signals = how.signals ?? job.kill?.signals ?? ['SIGTERM'];
  if (entry.kill) {
    // Already being killed (e.g. `qdel` then `qdel -W force`): only a SIGKILL escalates.
    if (signals.includes('SIGKILL') && !entry.kill.escalated) {
      entry.kill.escalated = true;
      signalGroup(entry.pid, 'SIGKILL');
    }
    return;
  }
  entry.kill = { cause: how.cause, reason: how.reason, verdict: how.verdict, escalated: signals.includes('SIGKILL') };
  for (const signal of signals) signalGroup(entry.pid, signal);
  const grace = how.graceMs ?? job.kill?.graceMs ?? 10_000;
  entry.timers.push(setTimeout(() => signalGroup(entry.pid, 'SIGKILL'), grace).unref());
}

/** @param {{ path: string, append?: boolean } | null | undefined} sink @param {string} spool */
function openSink(sink, spool) {
  if (!sink) return 'ignore';
  return spool ? fs.openSync(spool, 'w') : fs.openSync(sink.path, sink.append ? 'a' : 'w');
}

/** @param {import('./engine.mjs').TaskInit} task */
function start(task) {
  const spec = specOf(task);
  const spool = spoolFiles(dir, job.id, task.index);
  const atEnd = (spec.delivery ?? 'end') === 'end';
  if (atEnd) fs.mkdirSync(path.dirname(spool.stdout), { recursive: true });
  /** @type {(number | 'ignore')[]} */
  const fds = [];
  /** @param {TaskRecord} record */
  const fail = (record) => writeJson(taskFile(dir, job.id, task.index), record);
  try {
    fds.push(spec.stdin ? fs.openSync(spec.stdin, 'r') : 'ignore');
    const out = openSink(spec.stdout, atEnd ? spool.stdout : '');
    fds.push(out);
    fds.push(spec.stderr === 'stdout' ? out : openSink(spec.stderr, atEnd ? spool.stderr : ''));
  } catch (error) {
    const e = /** @type {NodeJS.ErrnoException} */ (error);
    fail({ index: task.index, state: 'ended', endedAt: Date.now(), exitCode: null, signal: null, cause: 'spawn-error', errno: e.code, reason: e.message });
    return;
  }
  const startedAt = Date.now();
  const [file = '', ...args] = spec.argv;
  /** @type {import('node:child_process').ChildProcess} */
  let child;
  try {
    child = spawn(file, args, { argv0: spec.argv0, cwd: spec.cwd, env: spec.env, stdio: fds, detached: true });
  } catch (error) {
    const e = /** @type {NodeJS.ErrnoException} */ (error);
    fail({ index: task.index, state: 'ended', startedAt, endedAt: Date.now(), exitCode: null, signal: null, cause: 'spawn-error', errno: e.code, reason: e.message });
    return;
  } finally {
    for (const fd of new Set(fds)) if (typeof fd === 'number') fs.closeSync(fd);
  }
  const key = taskKey(task.index);
  child.on('error', (error) => {
    // ENOENT/EACCES/bad cwd: the command never ran.
    if (child.pid !== undefined && running.has(key)) return;
    const e = /** @type {NodeJS.ErrnoException} */ (error);
    finishing++;
    void finish(task, spec, { index: task.index, state: 'ended', startedAt, endedAt: Date.now(), exitCode: null, signal: null, cause: 'spawn-error', errno: e.code, reason: e.message });
  });
  if (child.pid === undefined) return;
  const pid = child.pid;
  registerProcess(dir, pid, `job ${job.id} task ${key}`);
  /** @type {Running} */
  const entry = { index: task.index, spec, pid, startedAt, handledCancelAt: 0, timers: [] };
  running.set(key, entry);
  /** @type {TaskRecord} */
  const runningRecord = { index: task.index, state: 'running', pid, startedAt };
  writeJson(taskFile(dir, job.id, task.index), runningRecord);
  if (job.onTaskStart) void startHook(job.onTaskStart, spec, runningRecord);
  const injected = takeInjection(dir, 'kill');
  if (injected) {
    const how = { cause: /** @type {const} */ ('injected-kill'), reason: injected.reason, verdict: injected.verdict, signals: injected.signals ?? ['SIGKILL'] };
    entry.timers.push(setTimeout(() => beginKill(entry, how), injected.afterMs ?? 0));
  }
  child.on('exit', (code, signal) => {
    running.delete(key);
    finishing++;
    for (const timer of entry.timers) clearTimeout(timer);
    // The job is over: like a MOM ending the job's session, reap what it left behind.
    signalGroup(pid, 'SIGKILL');
    unregisterProcess(dir, pid);
    const cause = entry.kill?.cause ?? 'exit';
    writeJson(taskFile(dir, job.id, task.index), { index: task.index, state: 'running', pid, startedAt, exitingAt: Date.now() });
    void finish(task, spec, { index: task.index, state: 'ended', pid, startedAt, endedAt: Date.now(), exitCode: code, signal, cause, reason: entry.kill?.reason, verdict: entry.kill?.verdict });
  });
}

/** The front-end's start hook (e.g. HTCondor's `001 Job executing` event); its failure does not stop the task. @param {{ module: string, export: string }} hook @param {SpawnSpec} spec @param {TaskRecord} record */
async function startHook(hook, spec, record) {
  try {
    await (await import(hook.module))[hook.export]({ job, task: spec, record, dir });
  } catch {
    // a broken hook must not take the job down; the end hook still runs
  }
}

/** @param {import('./engine.mjs').TaskInit} task @param {SpawnSpec} spec @param {TaskRecord} record */
async function finish(task, spec, record) {
  const spool = spoolFiles(dir, job.id, task.index);
  const atEnd = (spec.delivery ?? 'end') === 'end';
  try {
    if (job.onTaskEnd) {
      const hook = (await import(job.onTaskEnd.module))[job.onTaskEnd.export];
      await hook({ job, task: spec, record, dir, spool: atEnd ? spool : { stdout: null, stderr: null } });
    }
  } catch (error) {
    record.reason = `${record.reason ?? ''} (end hook failed: ${error instanceof Error ? error.message : String(error)})`.trim();
  }
  if (atEnd && record.cause !== 'spawn-error') {
    try {
      deliver(spool.stdout, spec.stdout);
      if (spec.stderr !== 'stdout') deliver(spool.stderr, spec.stderr);
    } catch (error) {
      record.deliveryError = error instanceof Error ? error.message : String(error);
    }
  }
  writeJson(taskFile(dir, job.id, task.index), record);
  finishing--;
}

/** @param {string} spool @param {{ path: string, append?: boolean } | null | undefined} sink */
function deliver(spool, sink) {
  if (!sink || !fs.existsSync(spool)) return;
  const text = fs.readFileSync(spool);
  if (sink.append) fs.appendFileSync(sink.path, text);
  else fs.writeFileSync(sink.path, text);
}

/** The newest cancel request for a task, if not handled yet. @param {number | null} index @param {number} after */
function newCancel(index, after) {
  const request = cancelRequest(dir, job.id, index);
  return request && request.at > after ? request : undefined;
}

function tick() {
  const now = Date.now();
  for (const entry of running.values()) {
    const request = newCancel(entry.index, entry.handledCancelAt);
    if (request) {
      entry.handledCancelAt = request.at;
      beginKill(entry, { cause: request.cause ?? 'cancelled', reason: request.reason, verdict: request.verdict, signals: request.signals, graceMs: request.graceMs });
    }
    if (job.walltimeMs && now - entry.startedAt > job.walltimeMs) beginKill(entry, { cause: 'walltime' });
  }
  while (pending.length > 0) {
    const task = /** @type {import('./engine.mjs').TaskInit} */ (pending[0]);
    const request = newCancel(task.index, 0);
    if (request) {
      pending.shift();
      writeJson(taskFile(dir, job.id, task.index), {
        index: task.index,
        state: 'ended',
        endedAt: now,
        exitCode: null,
        signal: null,
        cause: request.cause ?? 'cancelled',
        reason: request.reason,
        verdict: request.verdict,
      });
      continue;
    }
    if (running.size + finishing >= limit) break;
    pending.shift();
    start(task);
  }
  if (pending.length === 0 && running.size === 0 && finishing === 0) {
    clearInterval(timer);
    unregisterProcess(dir, process.pid);
  }
}

const timer = setInterval(tick, POLL_MS);
tick();
