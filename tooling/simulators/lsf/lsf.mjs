// @ts-check
/**
 * What the LSF front-ends (bsub, bjobs, bkill, bhist, bpeek) share: the cluster's settings
 * (queues, slots, CLEAN_PERIOD, lsf.conf), how an engine job becomes the LSF view of each
 * element (PEND/PSUSP/RUN/DONE/EXIT, exit code, TERM_* reason), job id arguments
 * (`1234`, `1234[3]`, `1234[1-3,5]`), and the end hook that writes LSF's job report.
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants } from 'node:os';
import { readConfig, readInjection, readJob, takeInjection, taskRecords } from '../engine.mjs';
import { jobReport } from './format.mjs';

/** @typedef {import('../engine.mjs').JobRecord} JobRecord */
/** @typedef {import('../engine.mjs').TaskRecord} TaskRecord */
/** @typedef {import('./format.mjs').JobView} JobView */

/**
 * Per-job data bsub stores in the engine's `meta`.
 * @typedef {object} LsfMeta
 * @property {string} name          job name without the array brackets
 * @property {string | null} arraySpec  the `[…]%K` part as submitted, or null
 * @property {number} indexEnd      LSB_JOBINDEX_END
 * @property {string} queue
 * @property {string} user
 * @property {string} fromHost
 * @property {string} execHost
 * @property {string} cwd
 * @property {string} command
 * @property {number} slots
 * @property {string} projectName
 * @property {number} submitTime
 * @property {Record<string, { output: string | null, error: string | null }>} files  -o/-e paths
 *   of each element (expanded), by task key
 * @property {boolean} report       write the job report (-o without -N)
 * @property {string} cluster
 */

/**
 * The simulated cluster's settings: createSimulator options, then lsf.conf from LSF_ENVDIR.
 * @param {string} dir
 */
export function clusterConfig(dir) {
  const config = readConfig(dir);
  const conf = { ...(config.lsfConf ?? {}), ...readLsfConf(process.env.LSF_ENVDIR) };
  return {
    queues: /** @type {string[]} */ (config.queues ?? ['normal', 'short', 'long']),
    defaultQueue: /** @type {string} */ (config.defaultQueue ?? 'normal'),
    maxSlots: /** @type {number} */ (config.maxSlots ?? 64),
    cleanPeriodMs: /** @type {number} */ ((config.cleanPeriod ?? 3600) * 1000),
    maxArraySize: /** @type {number} */ (config.maxArraySize ?? 1000),
    cluster: /** @type {string} */ (config.cluster ?? 'cluster1'),
    host: /** @type {string} */ (config.host ?? os.hostname().split('.')[0]),
    killGraceMs: /** @type {number} */ (config.killGraceMs ?? 2000),
    // Time scale for -W (tests use a small value so a one-minute run limit passes quickly).
    secondsPerMinute: /** @type {number} */ (config.secondsPerMinute ?? 60),
    stdoutDirect: /^y/i.test(conf.LSB_STDOUT_DIRECT ?? ''),
    parseScript: /^y/i.test(conf.LSB_BSUB_PARSE_SCRIPT ?? ''),
    displayEnh: /^y/i.test(conf.LSB_BJOBS_DISPLAY_ENH ?? ''),
  };
}

/**
 * `KEY=value` lines of `$LSF_ENVDIR/lsf.conf` (quotes stripped, comments ignored).
 * @param {string | undefined} envDir
 * @returns {Record<string, string>}
 */
export function readLsfConf(envDir) {
  if (!envDir) return {};
  const file = path.join(envDir, 'lsf.conf');
  if (!fs.existsSync(file)) return {};
  /** @type {Record<string, string>} */
  const values = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && !line.trim().startsWith('#')) values[/** @type {string} */ (match[1])] = /** @type {string} */ (match[2]).replace(/^(["'])(.*)\1$/, '$2');
  }
  return values;
}

/**
 * 128 + the signal number, as LSF reports a job killed by a signal.
 * @param {string | null | undefined} signal
 */
const signalExitCode = (signal) => 128 + (signal ? (constants.signals[/** @type {NodeJS.Signals} */ (signal)] ?? 9) : 9);

/**
 * How LSF words the end of an element: state, exit code and termination reason.
 * @param {JobRecord} job
 * @param {TaskRecord} record
 * @returns {{ stat: string, exitCode: number | null, termReason: string | null }}
 */
export function lsfState(job, record) {
  if (record.state === 'pending') return { stat: job.dispatch === 'held' ? 'PSUSP' : 'PEND', exitCode: null, termReason: null };
  if (record.state === 'running') return { stat: 'RUN', exitCode: null, termReason: null };
  const exitCode = record.signal ? signalExitCode(record.signal) : (record.exitCode ?? null);
  if (record.cause === 'exit') return exitCode === 0 ? { stat: 'DONE', exitCode: 0, termReason: null } : { stat: 'EXIT', exitCode, termReason: null };
  if (record.cause === 'walltime') return { stat: 'EXIT', exitCode, termReason: 'TERM_RUNLIMIT' };
  if (record.cause === 'cancelled') return { stat: 'EXIT', exitCode, termReason: record.verdict?.termReason ?? 'TERM_OWNER' };
  if (record.cause === 'injected-kill') return { stat: 'EXIT', exitCode, termReason: /^TERM_/.test(record.reason ?? '') ? /** @type {string} */ (record.reason) : 'TERM_ADMIN' };
  // spawn-error: the job shell could not start (bad -cwd and the like).
  return { stat: 'EXIT', exitCode: exitCode ?? 127, termReason: null };
}

/**
 * The LSF view of one element.
 * @param {JobRecord} job
 * @param {TaskRecord} record
 * @returns {JobView}
 */
export function viewOf(job, record) {
  const meta = /** @type {LsfMeta} */ (job.meta);
  const index = record.index ?? 0;
  const { stat, exitCode, termReason } = lsfState(job, record);
  const started = record.startedAt ?? null;
  return {
    jobId: job.id,
    index,
    name: record.index === null ? meta.name : `${meta.name}[${index}]`,
    user: meta.user,
    queue: meta.queue,
    fromHost: meta.fromHost,
    execHosts: started === null ? [] : Array.from({ length: meta.slots }, () => meta.execHost),
    stat,
    exitCode,
    termReason,
    submitTime: meta.submitTime,
    startTime: started,
    finishTime: record.state === 'ended' ? (record.endedAt ?? null) : null,
    command: meta.command,
    cwd: meta.cwd,
    slots: meta.slots,
    projectName: meta.projectName,
  };
}

/**
 * Every element of a job, with its record.
 * @param {string} dir
 * @param {JobRecord} job
 */
export const elementsOf = (dir, job) => taskRecords(dir, job).map((record) => ({ record, view: viewOf(job, record) }));

/**
 * Whether mbatchd has forgotten a finished element (older than CLEAN_PERIOD).
 * @param {JobView} view
 * @param {number} cleanPeriodMs
 */
export const isCleaned = (view, cleanPeriodMs) => view.finishTime !== null && Date.now() - view.finishTime > cleanPeriodMs;

/**
 * A job id argument: `1234`, `1234[3]` or `1234[1-3,5]`.
 * @param {string} text
 * @returns {{ id: number, indices: number[] | null } | null}
 */
export function parseJobIdArg(text) {
  const match = /^(\d+)(?:\[([\d,:-]+)\])?$/.exec(text.trim());
  if (!match) return null;
  const id = Number(match[1]);
  if (match[2] === undefined) return { id, indices: null };
  /** @type {number[]} */
  const indices = [];
  for (const part of match[2].split(',')) {
    const range = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
    if (!range) return null;
    const start = Number(range[1]);
    const end = range[2] === undefined ? start : Number(range[2]);
    for (let i = start; i <= end; i += Number(range[3] ?? 1)) indices.push(i);
  }
  return { id, indices };
}

/**
 * An injected failure for this command, if one is due: `refuse` (the scheduler says no) or
 * `transient` (mbatchd not answering). Channels: the command name, then `submit`/`status`/`cancel`.
 * @param {string} dir
 * @param {string} command
 * @param {string} channel
 */
export function injectedFailure(dir, command, channel) {
  if (Object.keys(readInjection(dir)).length === 0) return undefined;
  return takeInjection(dir, command, channel);
}

/** What LSF prints while mbatchd does not answer (OpenLava lsb.comm.c), then gives up. */
export const DAEMON_NOT_RESPONDING = 'batch system daemon not responding ... still trying\n';
export const COMMUNICATION_TIMEOUT = 'Contacting batch daemon: Communication timeout';

/**
 * The end hook (run by the engine's runner when an element ends, before output delivery):
 * with -o and without -N, LSF puts its job report in the output file ahead of the output.
 * Without -o, the report and output are mailed: the simulator's "mailbox" is `<dir>/mail/`.
 * @param {{ job: JobRecord, record: TaskRecord, dir: string, spool: { stdout: string | null, stderr: string | null }, task: import('../engine.mjs').SpawnSpec }} context
 */
export async function onTaskEnd({ job, record, spool, task }) {
  const meta = /** @type {LsfMeta} */ (job.meta);
  if (!meta.report) return;
  const files = meta.files[record.index === null ? 'main' : String(record.index)] ?? { output: null, error: null };
  const view = viewOf(job, record);
  const extra = { home: process.env.HOME ?? os.homedir(), cluster: meta.cluster, errorFile: files.error };
  if (spool.stdout) {
    const output = fs.existsSync(spool.stdout) ? fs.readFileSync(spool.stdout, 'utf8') : '';
    fs.writeFileSync(spool.stdout, jobReport(view, { ...extra, output }));
  } else if (task.stdout) {
    // LSB_STDOUT_DIRECT: the output is already in the file; the report follows it.
    fs.appendFileSync(task.stdout.path, `\n${jobReport(view, { ...extra, output: '' })}`);
  }
}

/**
 * The elements a job id argument names, as mbatchd still knows them (cleaned ones are gone).
 * @param {string} dir
 * @param {string} arg         `1234`, `1234[3]`, `1234[1-3]`
 * @param {number} cleanPeriodMs
 * @returns {{ label: string, job: JobRecord | null, elements: { record: TaskRecord, view: JobView }[] } | null}  null: not a job id
 */
export function resolveJobArg(dir, arg, cleanPeriodMs) {
  const parsed = parseJobIdArg(arg);
  if (!parsed) return null;
  const label = parsed.indices && parsed.indices.length === 1 ? `${parsed.id}[${parsed.indices[0]}]` : parsed.indices ? arg.trim() : String(parsed.id);
  const job = readJob(dir, parsed.id) ?? null;
  if (!job) return { label, job: null, elements: [] };
  const elements = elementsOf(dir, job).filter(({ record, view }) => !isCleaned(view, cleanPeriodMs) && (parsed.indices === null || (record.index !== null && parsed.indices.includes(record.index))));
  return { label, job, elements };
}
