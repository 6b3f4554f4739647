// @ts-check
/**
 * `qdel` for both PBS dialects: jobs, whole arrays (`12[]`), subjobs (`12[3]`) and ranges.
 * Running jobs get SIGTERM then SIGKILL after kill_delay (`-W force`: SIGKILL now); queued
 * ones never start. Answers per id as the real commands print them (pbs.md §4, Torque §7):
 * silent success; unknown 153; finished 35 (PBS Pro history); in transition 168 (PBS Pro) or
 * `Invalid request MSG=job cancel in progress` (Torque).
 * @module
 */
import os from 'node:os';
import { cancel, cancelRequest, readConfig, readJob, runCommand, takeInjection, updateJob } from '../engine.mjs';
import { PBSE, USAGE, connectionFailure, dialectOf } from './dialect.mjs';
import { entriesOf, parseJobId } from './model.mjs';
import { UsageError, getopt } from './options.mjs';

const SPEC = { pbspro: 'W:x', torque: 'acmpW:tb:' };
const IVALREQ = 15004;

/** @param {'pbspro' | 'torque'} name */
export function main(name) {
  const dialect = dialectOf(name);
  return runCommand('qdel', (ctx) => {
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
      parsed = getopt(ctx.argv, SPEC[dialect.name], 'qdel');
      if (parsed.operands.length === 0) throw new UsageError('');
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      ctx.err(`${error.message ? `${error.message}\n` : ''}${USAGE.qdel[dialect.name]}`);
      return 2;
    }
    let force = false;
    for (const [flag, value] of parsed.options) {
      if (flag !== 'W') continue;
      if (value === 'force') force = true;
      else if (dialect.name === 'pbspro' && !/^suppress_email=\d+$/.test(value)) {
        ctx.err('qdel: illegal -W value\n');
        ctx.err(USAGE.qdel.pbspro);
        return 2;
      }
    }
    const purge = dialect.name === 'pbspro' && parsed.options.some(([f]) => f === 'x');

    const injected = takeInjection(ctx.dir, 'qdel', 'cancel');
    if (injected) {
      if (injected.error === 'credential') {
        ctx.err(`qdel: ${dialect.texts[PBSE.BADCRED]}\n`);
        return PBSE.BADCRED & 0xff;
      }
      const failure = connectionFailure(dialect, 'qdel', config.server);
      ctx.err(failure.stderr);
      return failure.exit;
    }

    let exit = 0;
    /** @param {number} errno @param {string} text */
    const fail = (errno, text) => {
      ctx.err(`qdel: ${text}\n`);
      exit = errno & 0xff;
    };
    const killDelayMs = (config.killDelaySeconds ?? 10) * 1000;
    const unknownText = dialect.texts[PBSE.UNKJOBID];
    for (const text of parsed.operands) {
      const id = parseJobId(text);
      if (!id) {
        fail(1, `illegally formed job identifier: ${text}`);
        continue;
      }
      const job = readJob(ctx.dir, id.seq);
      const serverOk = id.server === null || id.server === config.server || config.server.startsWith(`${id.server}.`);
      if (!job || !serverOk || Boolean(job.meta.array) !== id.array || job.meta.purged) {
        fail(PBSE.UNKJOBID, `${unknownText} ${text}`);
        continue;
      }
      const [head, ...subjobs] = entriesOf(ctx.dir, job, dialect, config);
      if (!head) continue;
      const age = (Date.now() - (head.endedAt ?? 0)) / 1000;
      const gone = head.finished && (dialect.name === 'torque' ? age >= (config.keepCompletedSeconds ?? 300) : config.history === false);
      if (gone) {
        fail(PBSE.UNKJOBID, `${unknownText} ${text}`);
        continue;
      }
      if (head.finished) {
        if (dialect.name === 'torque' || purge) updateJob(ctx.dir, job.id, (j) => void (j.meta.purged = true));
        else fail(PBSE.HISTJOBID, `${dialect.texts[PBSE.HISTJOBID]} ${text}`);
        continue;
      }
      const targets =
        id.index === null
          ? [head, ...subjobs].filter((e) => !e.isArray)
          : subjobs.filter((s) => /** @type {number} */ (s.index) >= /** @type {number} */ (id.index) && /** @type {number} */ (s.index) <= (id.rangeEnd ?? /** @type {number} */ (id.index)));
      if (targets.length === 0) {
        fail(PBSE.UNKJOBID, `${unknownText} ${text}`);
        continue;
      }
      if (id.index !== null && targets.every((t) => t.finished)) {
        // OpenPBS req_delete.c: a finished (expired) subjob is PBSE_NOHISTARRAYSUBJOB.
        if (dialect.name === 'pbspro') fail(PBSE.NOHISTARRAYSUBJOB, `${dialect.texts[PBSE.NOHISTARRAYSUBJOB]} ${text}`);
        else fail(PBSE.BADSTATE, `${dialect.texts[PBSE.BADSTATE]} ${text}`);
        continue;
      }
      // A second qdel while the first is still taking the job down.
      const inProgress = targets.some((t) => !t.finished && (t.state === 'E' || (t.state === 'R' && cancelRequest(ctx.dir, job.id, t.index) !== undefined)));
      if (inProgress && !force) {
        if (dialect.name === 'torque') fail(IVALREQ, `${dialect.texts[IVALREQ] ?? 'Invalid request'} MSG=job cancel in progress ${text}`);
        else fail(PBSE.BADSTATE, `${dialect.texts[PBSE.BADSTATE]} ${text}`);
        continue;
      }
      const request = { reason: 'qdel', verdict: { by: `${os.userInfo().username}@${os.hostname()}`, force }, signals: force ? ['SIGKILL'] : ['SIGTERM'], graceMs: killDelayMs };
      if (id.index === null) cancel(ctx.dir, job.id, request);
      else for (const t of targets) cancel(ctx.dir, job.id, { ...request, index: t.index });
    }
    return exit;
  });
}
