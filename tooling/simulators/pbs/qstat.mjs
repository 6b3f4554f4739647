// @ts-check
/**
 * `qstat` for both PBS dialects: job ids or all jobs; the table, `-f`, `-f -F json`
 * (PBS Pro), `-x` (PBS Pro history / Torque XML), `-t` subjobs, `-J` arrays only. Errors per
 * id on stderr with the good jobs still printed, exit = the last failure's pbs_errno & 0xFF
 * (pbs.md §3): unknown (153), finished without -x (35), server down (255); `-x`/`-H` on a
 * server without history: `PBS is not configured to maintain job history`, nothing listed, 0.
 * @module
 */
import { listJobs, readConfig, readJob, runCommand, takeInjection } from '../engine.mjs';
import { PBSE, USAGE, connectionFailure, dialectOf } from './dialect.mjs';
import { fullJson, fullText, table, torqueXml } from './format.mjs';
import { entriesOf, parseJobId } from './model.mjs';
import { UsageError, getopt } from './options.mjs';

/** @typedef {import('./model.mjs').Entry} Entry */

const SPEC = { pbspro: 'aBD:EfF:GHiJMnpqQrsTtu:wx1', torque: 'aBefGiMnqQrRsStu:W:x1l' };
const TWO_WEEKS = 14 * 24 * 3600;

/** @param {'pbspro' | 'torque'} name */
export function main(name) {
  const dialect = dialectOf(name);
  return runCommand('qstat', (ctx) => {
    const config = readConfig(ctx.dir);
    if (ctx.argv.includes('--version') && (dialect.name === 'torque' || ctx.argv.length === 1)) {
      const v = dialect.version(config);
      ctx.out(v.stdout);
      ctx.err(v.stderr);
      return 0;
    }
    /** @type {ReturnType<typeof getopt>} */
    let parsed;
    try {
      parsed = getopt(ctx.argv, SPEC[dialect.name], 'qstat');
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      ctx.err(`${error.message}\n${USAGE.qstat[dialect.name]}`);
      return 2;
    }
    const flags = new Set(parsed.options.map(([f]) => f));
    const format = parsed.options.filter(([f]) => f === 'F').at(-1)?.[1];
    if (format !== undefined && !['json', 'dsv', 'default'].includes(format)) {
      ctx.err(`qstat: invalid output format, valid formats are: default, dsv, json\n`);
      return 2;
    }
    if (['Q', 'q', 'B'].some((f) => flags.has(f))) {
      ctx.err(`qstat: queue and server status (-Q, -q, -B) are not simulated; ask for jobs\n`);
      return 2;
    }
    const json = dialect.name === 'pbspro' && format === 'json';
    const full = flags.has('f') || json;
    const xmlOut = dialect.name === 'torque' && flags.has('x');
    const history = dialect.name === 'pbspro' && (flags.has('x') || flags.has('H'));

    const injected = takeInjection(ctx.dir, 'qstat', 'status');
    if (injected) {
      if (json) ctx.out(fullJson(null, config));
      if (injected.error === 'credential') {
        ctx.err(`qstat: ${dialect.texts[PBSE.BADCRED]}\n`);
        return PBSE.BADCRED & 0xff;
      }
      const failure = connectionFailure(dialect, 'qstat', config.server);
      ctx.err(failure.stderr);
      return failure.exit;
    }

    if (history && config.history === false) {
      // req_stat.c rejects a -x/-H request outright (PBSE_JOBHISTNOTSET) when job_history_enable
      // is off; qstat prints the error per request (prt_job_err) and still exits 0 (pbs.md §3).
      if (json) ctx.out(fullJson(null, config));
      for (const id of parsed.operands.length ? parsed.operands : ['']) ctx.err(`qstat: ${dialect.texts[PBSE.JOBHISTNOTSET]} ${id}\n`);
      return 0;
    }
    const { entries, errors, exit } = parsed.operands.length
      ? select(ctx.dir, parsed.operands, dialect, config, { history, subjobs: flags.has('t'), arraysOnly: flags.has('J') })
      : all(ctx.dir, dialect, config, { history, historyOnly: flags.has('H'), subjobs: flags.has('t'), arraysOnly: flags.has('J') });
    if (json) ctx.out(fullJson(entries.length ? entries : null, config));
    else if (xmlOut) {
      if (entries.length) ctx.out(torqueXml(entries));
    } else if (full) ctx.out(fullText(entries, dialect.name, flags.has('w')));
    else if (entries.length) ctx.out(table(entries, dialect.name, flags.has('w')));
    ctx.err(errors.join(''));
    return exit;
  });
}

/** Is a finished entry still known (history / keep_completed)? @param {Entry} e @param {any} config @param {import('./dialect.mjs').Dialect} dialect */
function retained(e, config, dialect) {
  if (!e.finished) return true;
  const age = (Date.now() - (e.endedAt ?? 0)) / 1000;
  if (dialect.name === 'torque') return age < (config.keepCompletedSeconds ?? 300);
  return config.history !== false && age < (config.historySeconds ?? TWO_WEEKS);
}

/** Without ids: every job (finished ones only with -x/-H). */
function all(
  /** @type {string} */ dir,
  /** @type {import('./dialect.mjs').Dialect} */ dialect,
  /** @type {any} */ config,
  /** @type {{ history: boolean, historyOnly: boolean, subjobs: boolean, arraysOnly: boolean }} */ o,
) {
  /** @type {Entry[]} */
  const entries = [];
  for (const job of listJobs(dir)) {
    if (job.meta.purged) continue;
    const [head, ...subjobs] = entriesOf(dir, job, dialect, config);
    if (!head || !retained(head, config, dialect)) continue;
    if (dialect.name === 'pbspro' && head.finished && !o.history) continue;
    if (o.historyOnly && !head.finished) continue;
    if (o.arraysOnly && !head.isArray) continue;
    if (!(o.arraysOnly && o.subjobs)) entries.push(head);
    if (o.subjobs) entries.push(...subjobs);
  }
  return { entries, errors: /** @type {string[]} */ ([]), exit: 0 };
}

/** With ids: each id's job, or an error line for it. */
function select(
  /** @type {string} */ dir,
  /** @type {string[]} */ ids,
  /** @type {import('./dialect.mjs').Dialect} */ dialect,
  /** @type {any} */ config,
  /** @type {{ history: boolean, subjobs: boolean, arraysOnly: boolean }} */ o,
) {
  /** @type {Entry[]} */
  const entries = [];
  /** @type {string[]} */
  const errors = [];
  let exit = 0;
  const unknown = (/** @type {string} */ id) => {
    errors.push(`qstat: ${dialect.texts[PBSE.UNKJOBID]} ${id}\n`);
    exit = PBSE.UNKJOBID & 0xff;
  };
  for (const text of ids) {
    const id = parseJobId(text);
    if (!id) {
      errors.push(`qstat: illegally formed job identifier: ${text}\n`);
      exit = 1;
      continue;
    }
    const job = readJob(dir, id.seq);
    const serverOk = id.server === null || id.server === config.server || config.server.startsWith(`${id.server}.`);
    if (!job || !serverOk || Boolean(job.meta.array) !== id.array || job.meta.purged) {
      unknown(text);
      continue;
    }
    const [head, ...subjobs] = entriesOf(dir, job, dialect, config);
    if (!head) continue;
    /** @type {Entry[]} */
    let picked;
    if (id.index !== null) {
      const last = id.rangeEnd ?? id.index;
      picked = subjobs.filter((s) => /** @type {number} */ (s.index) >= /** @type {number} */ (id.index) && /** @type {number} */ (s.index) <= last);
      if (picked.length === 0) {
        unknown(text);
        continue;
      }
    } else picked = o.subjobs && head.isArray ? [head, ...subjobs] : [head];
    if (!retained(head, config, dialect)) {
      unknown(text);
      continue;
    }
    if (dialect.name === 'pbspro' && head.finished && !o.history) {
      if (config.history === false) unknown(text);
      else {
        // qstat.c handles PBSE_HISTJOBID itself rather than through prt_job_err.
        errors.push(`qstat: ${head.id} Job has finished, use -x or -H to obtain historical job information\n`);
        exit = PBSE.HISTJOBID & 0xff;
      }
      continue;
    }
    entries.push(...picked);
  }
  return { entries, errors, exit };
}
