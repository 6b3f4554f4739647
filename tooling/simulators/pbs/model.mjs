// @ts-check
/**
 * The PBS view of engine jobs: job ids (`12.srv`, `12[].srv`, `12[3].srv`), job and subjob
 * states (Q H R E F B X, Torque's C), Exit_status, comments and the attribute list `qstat -f`
 * prints, in the order real servers send it. qstat and qdel both read jobs through here, so
 * they can never disagree about a job's state.
 * @module
 */
import os from 'node:os';
import { readJob, taskRecords } from '../engine.mjs';

/** @typedef {import('../engine.mjs').JobRecord} JobRecord */
/** @typedef {import('../engine.mjs').TaskRecord} TaskRecord */
/** @typedef {import('./dialect.mjs').Dialect} Dialect */
/** @typedef {[name: string, resource: string | null, value: string]} Attr */
/**
 * @typedef {object} Entry one line of `qstat`: a job, an array parent or a subjob
 * @property {string} id @property {string} state @property {boolean} finished
 * @property {number | null} index subjob index, null otherwise @property {boolean} isArray
 * @property {number} [endedAt] @property {Attr[]} attrs
 */

/** `12`, `12.srv`, `12[]`, `12[3].srv`, `12[2-5].srv`. @param {string} text */
export function parseJobId(text) {
  const match = /^(\d+)(\[(\d*)(?:-(\d+))?\])?(?:\.(.+))?$/.exec(text);
  if (!match) return undefined;
  return {
    seq: Number(match[1]),
    array: match[2] !== undefined,
    index: match[3] ? Number(match[3]) : null,
    rangeEnd: match[4] ? Number(match[4]) : null,
    server: match[5] ?? null,
  };
}

/** @param {number} seq @param {string} server @param {number | null | ''} [index] '' = the array itself */
export const formatJobId = (seq, server, index) => (index === undefined || index === null ? `${seq}.${server}` : `${seq}[${index}].${server}`);

/** `[[H:]M:]S` → seconds, or undefined if malformed. @param {string} text */
export function parseWalltime(text) {
  if (!/^\d+(:\d+){0,2}$/.test(text)) return undefined;
  return text
    .split(':')
    .map(Number)
    .reduce((total, part) => total * 60 + part, 0);
}

/** @param {number} seconds */
export const hms = (seconds) => {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (/** @type {number} */ n) => String(n).padStart(2, '0');
/** C ctime() without the newline: `Fri Aug 20 23:14:08 2021`. @param {number} epochSeconds */
export function ctime(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`;
}
/** The scheduler's comment date: `Mon Nov 30 at 13:00`. @param {number} ms */
const commentDate = (ms) => {
  const d = new Date(ms);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${d.getDate()} at ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
};

const SIGNALS = /** @type {Record<string, number>} */ (os.constants.signals);

/**
 * Exit_status as the server records it (mom_start.c: signal → 0x100 + signum; job.h codes).
 * @param {TaskRecord} record @param {Dialect} dialect @returns {number | undefined}
 */
export function exitStatus(record, dialect) {
  if (record.state !== 'ended') return undefined;
  if (record.cause === 'walltime') return dialect.walltimeExitStatus;
  if (record.cause === 'spawn-error') return -2; // JOB_EXEC_FAIL2: exec failed after files were set up
  if (record.cause === 'injected-kill' && typeof record.verdict?.exitStatus === 'number') return record.verdict.exitStatus;
  if (record.startedAt === undefined) return undefined; // deleted before it ran
  if (record.signal) return 0x100 + (SIGNALS[record.signal] ?? 0);
  return record.exitCode ?? undefined;
}

/** @param {TaskRecord} record @param {JobRecord} job @param {Dialect} dialect @param {boolean} subjob */
function taskState(record, job, dialect, subjob) {
  if (record.state === 'pending') return job.dispatch === 'held' ? 'H' : 'Q';
  if (record.state === 'running') return /** @type {any} */ (record).exitingAt ? 'E' : 'R';
  if (dialect.name === 'torque') return 'C';
  return subjob ? 'X' : 'F';
}

/** @param {TaskRecord[]} records @param {JobRecord} job @param {Dialect} dialect */
function arrayState(records, job, dialect) {
  if (records.every((r) => r.state === 'ended')) return dialect.name === 'torque' ? 'C' : 'F';
  const begun = records.some((r) => r.state === 'running' || (r.state === 'ended' && r.startedAt !== undefined));
  if (dialect.name === 'torque') return records.some((r) => r.state === 'running') ? 'R' : job.dispatch === 'held' ? 'H' : 'Q';
  return begun ? 'B' : job.dispatch === 'held' ? 'H' : 'Q';
}

/** PBS Pro substates: queued 10, held 20, running 42, exiting 50, terminated 91, finished 92, failed 93. @param {string} state @param {number | undefined} exit @param {TaskRecord | undefined} record */
function substate(state, exit, record) {
  if (state === 'Q') return 10;
  if (state === 'H') return 20;
  if (state === 'R' || state === 'B') return 42;
  if (state === 'E') return 50;
  if (record?.cause === 'cancelled') return 91;
  return exit === 0 ? 92 : 93;
}

/**
 * The lines `qstat` can show for one engine job: the job, or the array parent and subjobs.
 * @param {string} dir @param {JobRecord} job @param {Dialect} dialect @param {any} config @returns {Entry[]}
 */
export function entriesOf(dir, job, dialect, config) {
  const meta = { ...job.meta, stuck: job.dispatch === 'stuck' };
  const records = taskRecords(dir, job);
  const now = Date.now();
  if (!meta.array) {
    const record = /** @type {TaskRecord} */ (records[0]);
    const state = taskState(record, job, dialect, false);
    return [
      {
        id: formatJobId(meta.seq, config.server),
        state,
        finished: record.state === 'ended',
        index: null,
        isArray: false,
        endedAt: record.endedAt,
        attrs: attributes(meta, dialect, config, state, [record], now, null),
      },
    ];
  }
  const state = arrayState(records, job, dialect);
  const finished = records.every((r) => r.state === 'ended');
  const endedAt = finished ? Math.max(...records.map((r) => r.endedAt ?? 0)) : undefined;
  const parent = { id: `${meta.seq}[].${config.server}`, state, finished, index: null, isArray: true, endedAt, attrs: attributes(meta, dialect, config, state, records, now, null) };
  const subjobs = records.map((record) => {
    const index = /** @type {number} */ (record.index);
    const subState = taskState(record, job, dialect, true);
    return {
      id: formatJobId(meta.seq, config.server, index),
      state: subState,
      finished: record.state === 'ended',
      index,
      isArray: false,
      endedAt: record.endedAt,
      attrs: attributes(meta, dialect, config, subState, [record], now, index),
    };
  });
  return [parent, ...subjobs];
}

/** Escape commas in Variable_List values as the server does. @param {Record<string, string>} vars */
const variableList = (vars) =>
  Object.entries(vars)
    .map(([k, v]) => `${k}=${String(v).replaceAll(',', '\\,')}`)
    .join(',');

/**
 * @param {any} meta @param {Dialect} dialect @param {any} config @param {string} state
 * @param {TaskRecord[]} records one (job/subjob) or all (array parent) @param {number} now @param {number | null} index
 * @returns {Attr[]}
 */
function attributes(meta, dialect, config, state, records, now, index) {
  const torque = dialect.name === 'torque';
  const isParent = meta.array && index === null;
  const started = records.filter((r) => r.startedAt !== undefined);
  const first = started.length ? Math.min(...started.map((r) => /** @type {number} */ (r.startedAt))) : undefined;
  const ended = records.every((r) => r.state === 'ended');
  const endedAt = ended ? Math.max(...records.map((r) => r.endedAt ?? 0)) : undefined;
  const record = records.length === 1 ? records[0] : undefined;
  const exit = isParent ? arrayExit(records, dialect) : record ? exitStatus(record, dialect) : undefined;
  const sec = (/** @type {number} */ ms) => String(Math.floor(ms / 1000));
  const host = meta.execHost;
  const ncpus = meta.resources.ncpus ?? '1';
  /** @type {Attr[]} */
  const a = [];
  const add = (/** @type {string} */ name, /** @type {string | null} */ resource, /** @type {unknown} */ value) => {
    if (value !== undefined && value !== null) a.push([name, resource, String(value)]);
  };
  add('Job_Name', null, index === null ? meta.name : dialect.subjobName(meta.name, index));
  add('Job_Owner', null, meta.owner);
  if (first !== undefined && !isParent) {
    const used = ((endedAt ?? now) - first) / 1000;
    if (!torque) add('resources_used', 'cpupercent', 0);
    add('resources_used', 'cput', '00:00:00');
    if (torque) add('resources_used', 'energy_used', 0);
    add('resources_used', 'mem', '0kb');
    if (!torque) add('resources_used', 'ncpus', ncpus);
    add('resources_used', 'vmem', '0kb');
    add('resources_used', 'walltime', hms(used));
  }
  add('job_state', null, state);
  add('queue', null, meta.queue);
  add('server', null, config.server);
  add('Checkpoint', null, 'u');
  add('ctime', null, meta.ctime);
  add('Error_Path', null, meta.errorPath);
  if (first !== undefined && !isParent) {
    add('exec_host', null, torque ? `${host}/0${Number(ncpus) > 1 ? `-${Number(ncpus) - 1}` : ''}` : `${host}/0${Number(ncpus) > 1 ? `*${ncpus}` : ''}`);
    if (!torque) add('exec_vnode', null, `(${host}:ncpus=${ncpus})`);
  }
  add('Hold_Types', null, state === 'H' ? 'u' : 'n');
  add('Join_Path', null, meta.join);
  add('Keep_Files', null, meta.keep);
  add('Mail_Points', null, meta.mailPoints);
  add('mtime', null, sec(Math.max(meta.ctime * 1000, ...records.map((r) => r.endedAt ?? r.startedAt ?? 0))));
  add('Output_Path', null, meta.outputPath);
  add('Priority', null, meta.priority);
  add('qtime', null, meta.ctime);
  add('Rerunable', null, meta.rerunnable ? 'True' : 'False');
  for (const [resource, value] of Object.entries(meta.resources)) add('Resource_List', resource, value);
  if (!torque && first !== undefined) add('stime', null, sec(first));
  if (record?.pid !== undefined && record.state !== 'pending') add('session_id', null, record.pid);
  if (!torque) add('jobdir', null, meta.home);
  if (!torque) add('substate', null, substate(state, exit, record));
  add('Variable_List', null, variableList(index === null ? meta.variables : { ...meta.variables, [torque ? 'PBS_ARRAYID' : 'PBS_ARRAY_INDEX']: String(index) }));
  if (torque) {
    add('euser', null, meta.user);
    add('egroup', null, meta.group);
    add('queue_type', null, 'E');
  }
  if (!torque) add('comment', null, comment(meta, state, exit, record, first, records));
  add('etime', null, meta.ctime);
  if (!torque && first !== undefined) add('run_count', null, 1);
  if (exit !== undefined) add(dialect.exitStatusAttribute, null, exit);
  if (isParent && !torque) {
    add('array', null, 'True');
    add('array_state_count', null, arrayStateCount(records));
    add('array_indices_submitted', null, meta.array.request);
    const remaining = records.filter((r) => r.state === 'pending').map((r) => r.index);
    add('array_indices_remaining', null, remaining.length ? compressRanges(/** @type {number[]} */ (remaining)) : '-');
  }
  if (!torque && index !== null) add('array_id', null, `${meta.seq}[].${config.server}`);
  if (!torque && index !== null) add('array_index', null, index);
  add(torque ? 'submit_args' : 'Submit_arguments', null, meta.submitArgs);
  if (torque) {
    if (first !== undefined) add('start_time', null, sec(first));
    if (first !== undefined) add('start_count', null, 1);
    add('fault_tolerant', null, 'False');
    if (endedAt !== undefined && first !== undefined) add('comp_time', null, sec(endedAt));
    add('job_radix', null, 0);
    if (meta.walltimeSeconds && first !== undefined && endedAt === undefined) add('Walltime', 'Remaining', Math.max(0, Math.round(meta.walltimeSeconds - (now - first) / 1000)));
    if (meta.array) add('job_array_request', null, meta.array.request);
    if (index !== null) add('job_array_id', null, index);
    add('submit_host', null, meta.submitHost);
    add('init_work_dir', null, meta.initWorkDir);
    add('request_version', null, 1);
  } else {
    add('project', null, meta.project);
    add('Submit_Host', null, meta.submitHost);
  }
  if (meta.account)
    a.splice(
      a.findIndex(([n]) => n === 'Checkpoint'),
      0,
      ['Account_Name', null, meta.account],
    );
  return a;
}

/** PBS Pro array Exit_status: 0 all subjobs 0, 1 any nonzero, 2 any deleted. @param {TaskRecord[]} records @param {Dialect} dialect */
function arrayExit(records, dialect) {
  if (!records.every((r) => r.state === 'ended')) return undefined;
  if (records.some((r) => r.cause === 'cancelled')) return 2;
  return records.some((r) => exitStatus(r, dialect) !== 0) ? 1 : 0;
}

/** @param {TaskRecord[]} records */
function arrayStateCount(records) {
  const count = (/** @type {(r: TaskRecord) => boolean} */ f) => records.filter(f).length;
  const queued = count((r) => r.state === 'pending');
  const running = count((r) => r.state === 'running' && !(/** @type {any} */ (r).exitingAt));
  const exiting = count((r) => r.state === 'running' && Boolean(/** @type {any} */ (r).exitingAt));
  const expired = count((r) => r.state === 'ended');
  return `Queued:${queued} Running:${running} Exiting:${exiting} Expired:${expired} `;
}

/** `1,2,3,5` → `1-3,5`. @param {number[]} indices */
export function compressRanges(indices) {
  /** @type {string[]} */
  const parts = [];
  for (let i = 0; i < indices.length;) {
    let j = i;
    while (j + 1 < indices.length && /** @type {number} */ (indices[j + 1]) === /** @type {number} */ (indices[j]) + 1) j++;
    parts.push(i === j ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The scheduler/server comment (sched comment + svr_jobfunc.c update_job_finish_comment). */
function comment(
  /** @type {any} */ meta,
  /** @type {string} */ state,
  /** @type {number | undefined} */ exit,
  /** @type {TaskRecord | undefined} */ record,
  /** @type {number | undefined} */ first,
  /** @type {TaskRecord[]} */ records,
) {
  if (first === undefined) {
    if (records.every((r) => r.state === 'ended')) return undefined;
    return meta.stuck ? `Not Running: Insufficient amount of resource: ncpus (R: ${meta.resources.ncpus ?? 1} A: 0 T: ${os.cpus().length})` : undefined;
  }
  const run = `Job run at ${commentDate(first)} on (${meta.execHost}:ncpus=${meta.resources.ncpus ?? 1})`;
  if (state !== 'F' && state !== 'X') return meta.array && !record ? `Job Array Began at ${commentDate(first)}` : run;
  if (!record) return `Job Array Began at ${commentDate(first)} and finished`;
  if (record.cause === 'cancelled') return `${run} and terminated`;
  if (record.cause === 'walltime') return `${run} and exceeded resource walltime`;
  return exit === 0 ? `${run} and finished` : `${run} and failed`;
}

/** Every engine job whose meta says it belongs to this PBS simulator, by id. @param {string} dir @param {number} seq */
export const jobBySeq = (dir, seq) => readJob(dir, seq);
