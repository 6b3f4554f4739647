// @ts-check
/**
 * What LSF prints about jobs, byte for byte where the sources record it (OpenLava bjobs.c and
 * sbd.job.c, IBM LSF 10.1 bjobs -o/-json pages, job reports captured from real clusters):
 * `bjobs -o` fields and delimiters, the `-json` layout, the default table, `bjobs -l` /
 * `bhist -l` lines drivers grep, and the job report LSF writes into a `-o` file.
 * Pure functions over plain "views" of a job element, so they are testable without an engine.
 * @module
 */

/**
 * One job element as LSF shows it.
 * @typedef {object} JobView
 * @property {number} jobId          base id (arrays share it)
 * @property {number} index          LSB_JOBINDEX: 0 for a non-array job
 * @property {string} name           JOB_NAME: `name`, or `name[3]` for an element
 * @property {string} user
 * @property {string} queue
 * @property {string} fromHost
 * @property {string[]} execHosts    one entry per slot; empty while pending
 * @property {string} stat           PEND PSUSP RUN DONE EXIT …
 * @property {number | null} exitCode   set once EXIT (null otherwise)
 * @property {string | null} termReason TERM_OWNER, TERM_RUNLIMIT … when LSF ended it
 * @property {number} submitTime     ms since epoch
 * @property {number | null} startTime
 * @property {number | null} finishTime
 * @property {string} command        the command line, or the script text for stdin scripts
 * @property {string} cwd
 * @property {number} slots
 * @property {string} projectName
 */

/** IBM "Termination reasons" page: the reason keyword and the sentence in job reports. */
export const TERM_REASONS = {
  TERM_OWNER: 'job killed by owner',
  TERM_ADMIN: 'job killed by root or LSF administrator',
  TERM_RUNLIMIT: 'job killed after reaching LSF run time limit',
  TERM_MEMLIMIT: 'job killed after reaching LSF memory usage limit',
  TERM_CPULIMIT: 'job killed after reaching LSF CPU usage limit',
  TERM_FORCE_OWNER: 'job killed by owner without time for cleanup',
  TERM_FORCE_ADMIN: 'job killed by root or LSF administrator without time for cleanup',
  TERM_REQUEUE_OWNER: 'job killed and requeued by owner',
  TERM_EXTERNAL_SIGNAL: 'job killed by a signal external to LSF',
};

/** `bjobs -o` field names, their aliases and the widths used for `field:` (no number). */
const FIELDS = {
  jobid: { alias: 'id', width: 7 },
  jobindex: { alias: '', width: 8 },
  stat: { alias: '', width: 5 },
  user: { alias: '', width: 7 },
  queue: { alias: '', width: 10 },
  job_name: { alias: 'name', width: 10 },
  from_host: { alias: '', width: 11 },
  exec_host: { alias: '', width: 11 },
  submit_time: { alias: '', width: 15 },
  start_time: { alias: '', width: 15 },
  finish_time: { alias: '', width: 16 },
  exit_code: { alias: '', width: 3 },
  exit_reason: { alias: '', width: 50 },
  slots: { alias: '', width: 5 },
  nreq_slot: { alias: '', width: 5 },
  command: { alias: 'cmd', width: 15 },
  proj_name: { alias: 'proj', width: 11 },
  pend_reason: { alias: '', width: 11 },
};

/**
 * @typedef {{ name: keyof typeof FIELDS, width: number | null, right: boolean }} FieldSpec
 * @typedef {{ fields: FieldSpec[], delimiter: string }} FormatSpec
 */

/**
 * Parse a `-o` string: `jobid stat:-8 exec_host: delimiter='^'`.
 * @param {string} text
 * @returns {FormatSpec | { error: string }}
 */
export function parseFormatSpec(text) {
  let delimiter = ' ';
  const rest = text.replace(/delimiter=(['"])(.*?)\1/, (_m, _q, d) => {
    delimiter = d;
    return '';
  });
  if (delimiter.length !== 1) return { error: 'The delimiter must be a single character.' };
  /** @type {FieldSpec[]} */
  const fields = [];
  for (const word of rest.trim().split(/\s+/).filter(Boolean)) {
    const [rawName = '', widthText] = word.split(':');
    const lower = rawName.toLowerCase();
    const name = /** @type {keyof typeof FIELDS | undefined} */ (Object.keys(FIELDS).find((key) => key === lower || FIELDS[/** @type {keyof typeof FIELDS} */ (key)].alias === lower));
    if (!name) return { error: `${rawName}: Illegal field name.` };
    let width = null;
    let right = false;
    if (widthText !== undefined) {
      right = widthText.startsWith('-');
      const digits = widthText.replace(/^-/, '');
      width = digits === '' ? FIELDS[name].width : Number(digits);
      if (!Number.isInteger(width) || width < 1) return { error: `${word}: Illegal field width.` };
    }
    fields.push({ name, width, right });
  }
  if (fields.length === 0) return { error: 'Output format is empty.' };
  return { fields, delimiter };
}

/**
 * `Nov 19 13:22` (bjobs table, bjobs -o time fields).
 * @param {number} ms
 */
export function shortTime(ms) {
  const d = new Date(ms);
  const month = d.toLocaleString('en-US', { month: 'short' });
  return `${month} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/**
 * ctime without the newline: `Tue Dec  7 13:45:28 2021` (job reports, bhist).
 * @param {number} ms
 */
export function ctime(ms) {
  const d = new Date(ms);
  const day = d.toLocaleString('en-US', { weekday: 'short' });
  const month = d.toLocaleString('en-US', { month: 'short' });
  return `${day} ${month} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

/** @param {number} n */
const two = (n) => String(n).padStart(2, '0');

/**
 * `hostA:hostA` style list of the slots' hosts; `-` when none.
 * @param {string[]} hosts
 */
export function execHostText(hosts) {
  return hosts.length === 0 ? '' : hosts.join(':');
}

/**
 * The raw text of one field ('' when LSF has no value; callers print `-` or `""`).
 * @param {JobView} job
 * @param {keyof typeof FIELDS} field
 * @returns {string}
 */
export function fieldValue(job, field) {
  switch (field) {
    case 'jobid':
      return String(job.jobId);
    case 'jobindex':
      return String(job.index);
    case 'stat':
      return job.stat;
    case 'user':
      return job.user;
    case 'queue':
      return job.queue;
    case 'job_name':
      return job.name;
    case 'from_host':
      return job.fromHost;
    case 'exec_host':
      return execHostText(job.execHosts);
    case 'submit_time':
      return shortTime(job.submitTime);
    case 'start_time':
      return job.startTime === null ? '' : shortTime(job.startTime);
    case 'finish_time':
      return job.finishTime === null ? '' : `${shortTime(job.finishTime)} L`;
    case 'exit_code':
      // LSF reports no exit code for DONE jobs and for jobs still queued or running.
      return job.stat === 'EXIT' && job.exitCode !== null ? String(job.exitCode) : '';
    case 'exit_reason':
      return job.termReason ? (TERM_REASONS[/** @type {keyof typeof TERM_REASONS} */ (job.termReason)] ?? '') : '';
    case 'slots':
      return job.execHosts.length ? String(job.execHosts.length) : '';
    case 'nreq_slot':
      return String(job.slots);
    case 'command':
      return job.command;
    case 'proj_name':
      return job.projectName;
    case 'pend_reason':
      return job.stat === 'PEND' ? 'New job is waiting for scheduling' : job.stat === 'PSUSP' ? 'The job was suspended by user' : '';
  }
}

/**
 * Lines of `bjobs -o …` (with or without the header row).
 * @param {JobView[]} jobs
 * @param {FormatSpec} spec
 * @param {boolean} header
 */
export function formatFields(jobs, spec, header) {
  /**
   * @param {string} text
   * @param {FieldSpec} field
   */
  const cell = (text, field) => {
    if (field.width === null) return text;
    const cut = text.length > field.width ? (field.name === 'job_name' ? `*${text.slice(text.length - field.width + 1)}` : text.slice(0, field.width)) : text;
    return field.right ? cut.padStart(field.width) : cut.padEnd(field.width);
  };
  const lines = [];
  if (header) lines.push(spec.fields.map((f) => cell(f.name.toUpperCase(), f)).join(spec.delimiter));
  for (const job of jobs) lines.push(spec.fields.map((f) => cell(fieldValue(job, f.name) || '-', f)).join(spec.delimiter));
  return lines;
}

/**
 * `bjobs -o … -json`: IBM's layout, every value a string, `""` when empty.
 * @param {JobView[]} jobs
 * @param {FormatSpec} spec
 */
export function formatJson(jobs, spec) {
  const records = jobs.map((job) => {
    const pairs = spec.fields.map((f) => `      ${JSON.stringify(f.name.toUpperCase())}:${JSON.stringify(fieldValue(job, f.name))}`);
    return `    {\n${pairs.join(',\n')}\n    }`;
  });
  return `{\n  "COMMAND":"bjobs",\n  "JOBS":${jobs.length},\n  "RECORDS":[\n${records.join(',\n')}${records.length ? '\n' : ''}  ]\n}\n`;
}

/**
 * The default `bjobs` table (OpenLava bjobs.c): a header, then one row per element; a long
 * job name is shown as `*` + its tail unless `-w`; further hosts of a parallel job go on
 * continuation lines under EXEC_HOST.
 * @param {JobView[]} jobs
 * @param {{ wide: boolean, displayEnh: boolean }} options
 */
export function formatTable(jobs, { wide, displayEnh }) {
  const lines = ['JOBID   USER    STAT  QUEUE      FROM_HOST   EXEC_HOST   JOB_NAME   SUBMIT_TIME'];
  for (const job of jobs) {
    const id = displayEnh && job.index > 0 ? `${job.jobId}[${job.index}]` : String(job.jobId);
    const name = !wide && job.name.length > 10 ? `*${job.name.slice(job.name.length - 9)}` : job.name;
    const hosts = groupHosts(job.execHosts);
    const firstHost = hosts[0] ?? '';
    if (wide) {
      lines.push([id, job.user, job.stat.padEnd(5), job.queue, job.fromHost, execHostText(job.execHosts) || '-', job.name, shortTime(job.submitTime)].join(' '));
      continue;
    }
    lines.push(
      `${id.padEnd(7)} ${job.user.padEnd(7)} ${job.stat.padEnd(5)} ${job.queue.padEnd(10)} ${job.fromHost.padEnd(11)} ${firstHost.padEnd(11)} ${name.padEnd(10)} ${shortTime(job.submitTime)}`,
    );
    for (const host of hosts.slice(1)) lines.push(`${''.padEnd(45)}${host}`);
  }
  return lines;
}

/**
 * `4*hostA` for four slots on one host, as the default table shows them.
 * @param {string[]} hosts
 */
function groupHosts(hosts) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const host of hosts) counts.set(host, (counts.get(host) ?? 0) + 1);
  return [...counts].map(([host, n]) => (n > 1 ? `${n}*${host}` : host));
}

/**
 * How a finished job ended, as the job report and bjobs -l word it.
 * @param {JobView} job
 * @returns {string[]}
 */
export function endLines(job) {
  if (job.stat === 'DONE') return ['Successfully completed.'];
  const lines = [];
  if (job.termReason) lines.push(`${job.termReason}: ${TERM_REASONS[/** @type {keyof typeof TERM_REASONS} */ (job.termReason)] ?? 'job killed'}.`);
  lines.push(`Exited with exit code ${job.exitCode ?? 1}.`);
  return lines;
}

/**
 * The report LSF puts in the `-o` file at job end (unless -N), then the job's output.
 * @param {JobView} job
 * @param {{ home: string, cluster: string, errorFile: string | null, output: string }} extra
 */
export function jobReport(job, { home, cluster, errorFile, output }) {
  const status = job.stat === 'DONE' ? 'Done' : 'Exited';
  const jobLabel = job.index > 0 ? `${job.jobId}[${job.index}]` : String(job.jobId);
  const start = job.startTime ?? job.submitTime;
  const end = job.finishTime ?? start;
  const lines = [
    `Sender: LSF System <lsfadmin@${job.execHosts[0] ?? job.fromHost}>`,
    `Subject: Job ${jobLabel}: <${job.name}> in cluster <${cluster}> ${status}`,
    '',
    `Job <${job.name}> was submitted from host <${job.fromHost}> by user <${job.user}> in cluster <${cluster}> at ${ctime(job.submitTime)}`,
    `Job was executed on host(s) <${execHostText(job.execHosts) || job.fromHost}>, in queue <${job.queue}>, as user <${job.user}> in cluster <${cluster}> at ${ctime(start)}`,
    `<${home}> was used as the home directory.`,
    `<${job.cwd}> was used as the working directory.`,
    `Started at ${ctime(start)}`,
    `Terminated at ${ctime(end)}`,
    `Results reported at ${ctime(end)}`,
    '',
    'Your job looked like:',
    '',
    '------------------------------------------------------------',
    '# LSBATCH: User input',
    job.command.replace(/\n$/, ''),
    '------------------------------------------------------------',
    '',
    ...endLines(job),
    '',
    'Resource usage summary:',
    '',
    `    CPU time :                                   0.00 sec.`,
    '    Max Memory :                                 -',
    '    Average Memory :                             -',
    '    Total Requested Memory :                     -',
    '    Delta Memory :                               -',
    '    Max Swap :                                   -',
    '    Max Processes :                              -',
    '    Max Threads :                                -',
    `    Run time :                                   ${Math.round((end - start) / 1000)} sec.`,
    `    Turnaround time :                            ${Math.round((end - job.submitTime) / 1000)} sec.`,
    '',
    'The output (if any) follows:',
    '',
  ];
  let text = `${lines.join('\n')}\n${output}`;
  if (errorFile) text += `${output.endsWith('\n') || output === '' ? '' : '\n'}\n\nPS:\n\nRead file <${errorFile}> for stderr output of this job.\n\n`;
  return text;
}

/**
 * `bjobs -l` for one element: the lines drivers grep (status, submit/start/end events).
 * @param {JobView} job
 */
export function longFormat(job) {
  const label = job.index > 0 ? `Job <${job.jobId}[${job.index}]>` : `Job <${job.jobId}>`;
  const lines = [
    '',
    `${label}, Job Name <${job.name}>, User <${job.user}>, Project <${job.projectName}>, Status <${job.stat}>, Queue <${job.queue}>, Command <${job.command.replace(/\n/g, '; ')}>`,
    `${eventTime(job.submitTime)}: Submitted from host <${job.fromHost}>, CWD <${job.cwd}>;`,
  ];
  if (job.startTime !== null) lines.push(`${eventTime(job.startTime)}: Started on <${execHostText(job.execHosts)}>, Execution Home <${process.env.HOME ?? '/'}>, Execution CWD <${job.cwd}>;`);
  if (job.finishTime !== null) {
    if (job.stat === 'DONE') lines.push(`${eventTime(job.finishTime)}: Done successfully. The CPU time used is 0.0 seconds.`);
    else {
      const reason = job.termReason ? `${job.termReason}: ${TERM_REASONS[/** @type {keyof typeof TERM_REASONS} */ (job.termReason)]}.` : '';
      lines.push(`${eventTime(job.finishTime)}: Exited with exit code ${job.exitCode ?? 1}. The CPU time used is 0.0 seconds.`);
      if (reason) lines.push(`${eventTime(job.finishTime)}: Completed <exit>; ${reason}`);
    }
  }
  lines.push('');
  return lines;
}

/**
 * `bhist -l` for one element (ert greps `Exited with exit code ([0-9]+)` here).
 * @param {JobView} job
 */
export function bhistLong(job) {
  const label = job.index > 0 ? `Job <${job.jobId}[${job.index}]>` : `Job <${job.jobId}>`;
  const lines = [
    '',
    `${label}, Job Name <${job.name}>, User <${job.user}>, Project <${job.projectName}>, Command <${job.command.replace(/\n/g, '; ')}>`,
    `${eventTime(job.submitTime)}: Submitted from host <${job.fromHost}>, to Queue <${job.queue}>, CWD <${job.cwd}>;`,
  ];
  if (job.startTime !== null) lines.push(`${eventTime(job.startTime)}: Dispatched to <${execHostText(job.execHosts)}>;`, `${eventTime(job.startTime)}: Starting (Pid 0);`);
  if (job.finishTime !== null) {
    if (job.stat === 'DONE') lines.push(`${eventTime(job.finishTime)}: Done successfully. The CPU time used is 0.0 seconds;`);
    else lines.push(`${eventTime(job.finishTime)}: Exited with exit code ${job.exitCode ?? 1}. The CPU time used is 0.0 seconds;`);
    if (job.termReason) lines.push(`${eventTime(job.finishTime)}: Completed <exit>; ${job.termReason}: ${TERM_REASONS[/** @type {keyof typeof TERM_REASONS} */ (job.termReason)]}.`);
  }
  lines.push('', '------------------------------------------------------------------------------');
  return lines;
}

/**
 * `Tue May  6 15:45:10` (bjobs -l / bhist -l event stamps).
 * @param {number} ms
 */
function eventTime(ms) {
  return ctime(ms).replace(/ \d{4}$/, '');
}
