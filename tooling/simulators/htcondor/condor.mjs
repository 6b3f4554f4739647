// @ts-check
/**
 * What the HTCondor front-ends share: the pool's settings, how an engine job becomes one job
 * ClassAd per proc (JobStatus 1 Idle / 2 Running / 3 Removed / 4 Completed / 5 Held, with
 * HoldReason, RemoveReason, ExitCode…), which procs are still in the queue and which went to
 * history, the job event log (`log =`), and the end hook that transfers output back.
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants } from 'node:os';
import { listJobs, readConfig, readInjection, takeInjection, taskRecords } from '../engine.mjs';

/** @typedef {import('../engine.mjs').JobRecord} JobRecord */
/** @typedef {import('../engine.mjs').TaskRecord} TaskRecord */
/** @typedef {import('./classad.mjs').Ad} Ad */

/**
 * What condor_submit stores per proc in the engine job's `meta.procs[proc]`.
 * @typedef {object} ProcMeta
 * @property {Ad} ad            the static part of the job ad (Cmd, Arguments, Iwd, Out, Err, Request*, custom attributes…)
 * @property {string | null} log   absolute path of the job event log
 * @property {boolean} enoexec  the executable is neither a binary nor a `#!` script: execve fails with ENOEXEC
 * @property {string | null} scratch   execute directory when files are transferred
 * @property {string[]} inputs  transferred input file names (not copied back)
 * @property {boolean} leaveInQueue
 * @property {string | null} periodicRemove  source of periodic_remove, if any
 * @property {boolean} unmatchable  asks for more than any slot has: stays Idle for ever
 */

/** @param {string} dir */
export function poolConfig(dir) {
  const config = readConfig(dir);
  const host = /** @type {string} */ (config.host ?? os.hostname().split('.')[0]);
  return {
    host,
    scheddAddress: `<127.0.0.1:9618?addrs=127.0.0.1-9618&alias=${host}&noUDP&sock=schedd_1_0001>`,
    cpus: /** @type {number} */ (config.cpus ?? 64),
    memoryMb: /** @type {number} */ (config.memoryMb ?? 256 * 1024),
    killGraceMs: /** @type {number} */ (config.killGraceMs ?? 2000),
    monitorHint: config.monitorHint !== false,
    uidDomain: /** @type {string} */ (config.uidDomain ?? host),
  };
}

/** HTCondor's hold reason codes used here (hold-reason-codes.rst). */
export const HOLD = { user: 1, periodicHold: 3, failedToCreateProcess: 6, submittedOnHold: 15, jobDurationExceeded: 46 };

/**
 * @param {JobRecord} job
 * @param {number} proc
 * @returns {ProcMeta}
 */
const procMeta = (job, proc) => job.meta.procs[String(proc)];

/**
 * errno number and strerror text for a spawn failure code.
 * @param {string | undefined} code
 */
function errnoOf(code) {
  const texts = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOEXEC: 'Exec format error', ENOTDIR: 'Not a directory', EISDIR: 'Is a directory' };
  const name = /** @type {keyof typeof texts} */ (code && code in texts ? code : 'ENOENT');
  return { number: /** @type {number} */ (constants.errno[name]), text: texts[name] };
}

/**
 * The full job ad of one proc, now.
 * @param {JobRecord} job
 * @param {TaskRecord} record
 * @param {{ host: string }} pool
 * @returns {Ad}
 */
export function adOf(job, record, pool) {
  const proc = record.index ?? 0;
  const meta = procMeta(job, proc);
  const removed = job.meta.removed?.[String(proc)];
  const qdate = /** @type {number} */ (job.meta.qdate);
  /** @type {Ad} */
  const ad = {
    ...meta.ad,
    MyType: 'Job',
    TargetType: 'Machine',
    ClusterId: job.id,
    ProcId: proc,
    GlobalJobId: `${pool.host}#${job.id}.${proc}#${qdate}`,
    QDate: qdate,
    JobUniverse: 5,
    NumJobStarts: record.startedAt ? 1 : 0,
    CompletionDate: 0,
    LastJobStatus: 0,
  };
  const sec = (/** @type {number | undefined} */ ms) => (ms ? Math.floor(ms / 1000) : 0);
  let status = 1;
  let entered = qdate;
  if (record.startedAt) {
    ad.JobStartDate = sec(record.startedAt);
    ad.JobCurrentStartDate = sec(record.startedAt);
  }
  if (record.state === 'pending') {
    if (removed) {
      status = 3;
      entered = sec(removed.at);
      ad.RemoveReason = removed.reason;
    } else if (job.dispatch === 'held' && !meta.unmatchable) {
      status = 5;
      ad.HoldReason = "submitted on hold at user's request";
      ad.HoldReasonCode = HOLD.submittedOnHold;
      ad.HoldReasonSubCode = 0;
    }
  } else if (record.state === 'running') {
    status = removed ? 3 : 2;
    entered = removed ? sec(removed.at) : sec(record.startedAt);
    ad.RemoteHost = `slot1@${pool.host}`;
    if (removed) ad.RemoveReason = removed.reason;
  } else {
    entered = sec(record.endedAt);
    ad.RemoteWallClockTime = record.startedAt && record.endedAt ? Math.round((record.endedAt - record.startedAt) / 1000) : 0;
    const { cause } = record;
    const hold = cause === 'spawn-error' || cause === 'walltime' || (cause === 'injected-kill' && /hold/i.test(record.reason ?? ''));
    if (removed || cause === 'cancelled') {
      status = 3;
      ad.RemoveReason = removed?.reason ?? record.reason ?? 'via condor_rm';
    } else if (hold) {
      status = 5;
      Object.assign(ad, holdOf(job, record, meta, pool));
    } else if (cause === 'injected-kill') {
      status = 3;
      ad.RemoveReason = `The job attribute PeriodicRemove expression '${record.verdict?.expression ?? meta.periodicRemove ?? 'true'}' evaluated to TRUE`;
    } else {
      status = 4;
      ad.CompletionDate = sec(record.endedAt);
      ad.ExitBySignal = Boolean(record.signal);
      if (record.signal) ad.ExitSignal = constants.signals[/** @type {NodeJS.Signals} */ (record.signal)] ?? 9;
      else {
        ad.ExitCode = record.exitCode ?? 0;
        ad.ExitStatus = record.exitCode ?? 0;
      }
    }
  }
  ad.JobStatus = status;
  ad.EnteredCurrentStatus = entered;
  return ad;
}

/**
 * HoldReason & codes for a proc the starter could not run, that outlived its allowed
 * duration, or that an injected PeriodicHold caught.
 * @param {JobRecord} job @param {TaskRecord} record @param {ProcMeta} meta @param {{ host: string }} pool
 */
function holdOf(job, record, meta, pool) {
  if (record.cause === 'walltime') {
    return { HoldReason: `The job exceeded allowed job duration of ${meta.ad.AllowedJobDuration}`, HoldReasonCode: HOLD.jobDurationExceeded, HoldReasonSubCode: 0 };
  }
  if (record.cause === 'injected-kill') {
    return { HoldReason: `The job attribute PeriodicHold expression '${record.verdict?.expression ?? 'true'}' evaluated to TRUE`, HoldReasonCode: HOLD.periodicHold, HoldReasonSubCode: 0 };
  }
  const e = errnoOf(meta.enoexec ? 'ENOEXEC' : record.errno);
  const args = String(meta.ad.Arguments ?? '');
  const withArgs = args ? ` with arguments ${args}` : '';
  return {
    HoldReason: `Error from slot1@${pool.host}: Failed to execute '${meta.ad.Cmd}'${withArgs}: (errno=${e.number}: '${e.text}')`,
    HoldReasonCode: HOLD.failedToCreateProcess,
    HoldReasonSubCode: e.number,
  };
}

/**
 * Whether condor_q still shows the proc (history otherwise).
 * @param {Ad} ad
 * @param {TaskRecord} record
 * @param {JobRecord} job
 */
export function inQueue(ad, record, job) {
  const status = ad.JobStatus;
  if (status === 3) return record.state === 'running';
  if (status === 4) return Boolean(procMeta(job, record.index ?? 0).leaveInQueue);
  return true;
}

/**
 * Every proc of every HTCondor job, with its ad and whether it is still queued.
 * @param {string} dir
 */
export function allProcs(dir) {
  const pool = poolConfig(dir);
  return listJobs(dir)
    .filter((job) => job.kind === 'htcondor')
    .flatMap((job) =>
      taskRecords(dir, job).map((record) => {
        const ad = adOf(job, record, pool);
        return { job, record, ad, queued: inQueue(ad, record, job) };
      }),
    );
}

/**
 * A failure to inject for this command, if due.
 * @param {string} dir @param {string} command @param {string} channel
 */
export function injectedFailure(dir, command, channel) {
  if (Object.keys(readInjection(dir)).length === 0) return undefined;
  return takeInjection(dir, command, channel);
}

/** condor_q / condor_history / condor_rm when the schedd does not answer (htcondor.md §3). @param {ReturnType<typeof poolConfig>} pool */
export const fetchFailure = (pool) => `-- Failed to fetch ads from: ${pool.scheddAddress} : ${pool.host}\nCEDAR:6001:Failed to connect to ${pool.scheddAddress}\n`;

// ---- job event log ----

/** @param {number} ms */
function logTime(ms) {
  const d = new Date(ms);
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/**
 * Append one event to a job event log: `000 (123.000.000) 2026-11-30 13:04:01 Job submitted…`.
 * @param {string | null} file @param {string} code @param {number} cluster @param {number} proc @param {number} at @param {string[]} lines
 */
export function logEvent(file, code, cluster, proc, at, lines) {
  if (!file) return;
  const id = `${String(cluster).padStart(3, '0')}.${String(proc).padStart(3, '0')}.000`;
  fs.appendFileSync(file, `${code} (${id}) ${logTime(at)} ${lines.join('\n')}\n...\n`);
}

const USAGE = [
  '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Remote Usage',
  '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage',
  '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Remote Usage',
  '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage',
  '\t0  -  Run Bytes Sent By Job',
  '\t0  -  Run Bytes Received By Job',
  '\t0  -  Total Bytes Sent By Job',
  '\t0  -  Total Bytes Received By Job',
];

/**
 * The end hook: write the execute/terminate/held/aborted events, and with file transfer copy
 * the files the job created in its scratch dir back to the submit dir (Iwd).
 * @param {{ job: JobRecord, record: TaskRecord, dir: string }} context
 */
export async function onTaskEnd({ job, record, dir }) {
  const pool = poolConfig(dir);
  const proc = record.index ?? 0;
  const meta = procMeta(job, proc);
  if (meta.scratch && record.cause !== 'spawn-error') transferBack(meta);
  const ad = adOf(job, { ...record, state: 'ended' }, pool);
  const log = meta.log;
  const endedAt = record.endedAt ?? Date.now();
  if (record.startedAt && record.cause !== 'spawn-error')
    logEvent(log, '001', job.id, proc, record.startedAt, [`Job executing on host: <127.0.0.1:9618?addrs=127.0.0.1-9618&alias=${pool.host}&noUDP&sock=startd_1_0001>`]);
  if (ad.JobStatus === 4) {
    const how = record.signal ? [`\t(0) Abnormal termination (signal ${ad.ExitSignal})`, '\t(0) No core file'] : [`\t(1) Normal termination (return value ${ad.ExitCode})`];
    logEvent(log, '005', job.id, proc, endedAt, ['Job terminated.', ...how, ...USAGE]);
  } else if (ad.JobStatus === 5) {
    logEvent(log, '012', job.id, proc, endedAt, ['Job was held.', `\t${ad.HoldReason}`, `\tCode ${ad.HoldReasonCode} Subcode ${ad.HoldReasonSubCode}`]);
  } else if (ad.JobStatus === 3) {
    logEvent(log, '009', job.id, proc, endedAt, ['Job was aborted.', `\t${ad.RemoveReason}`]);
  }
}

/** @param {ProcMeta} meta */
function transferBack(meta) {
  const scratch = /** @type {string} */ (meta.scratch);
  const iwd = String(meta.ad.Iwd);
  for (const name of fs.readdirSync(scratch)) {
    if (name === 'condor_exec.exe' || name.startsWith('.') || name.startsWith('_condor_') || meta.inputs.includes(name)) continue;
    const from = path.join(scratch, name);
    if (fs.statSync(from).isFile()) fs.copyFileSync(from, path.join(iwd, name));
  }
}
