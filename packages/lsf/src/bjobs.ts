/**
 * What `bjobs` says about our jobs, read from the machine-readable form IBM documents
 * (`bjobs -o "…" -json`, LSF 10.1 bjobs -o / -json pages): one query for every job of the
 * cluster, finished ones included, each array element its own record. Termination reasons
 * (`TERM_RUNLIMIT`…) travel in the status's reason, so a lost worker's error says what LSF did.
 * @module
 */
import type { CommandOutput, JobStateKind, RawJobStatus } from '@cm/core/driver';

/** The fields asked for: upper-cased, they are the JSON keys of each record. */
export const BJOBS_FIELDS = ['jobid', 'jobindex', 'stat', 'exit_code', 'exit_reason', 'pend_reason'] as const;
/** The fields every LSF with `-json` has (lsf.md's own example): asked for when the reasons are refused. */
export const BJOBS_BASIC_FIELDS = ['jobid', 'jobindex', 'stat', 'exit_code'] as const;

/**
 * Ask with the reasons; an LSF that does not know one of the fields (lsf.md's example names
 * only the basic four) refuses the whole list and lists nothing, so ask again with the basic
 * fields. "Not found" for every id is an answer, not a refusal.
 */
const BJOBS_SCRIPT = [
  'full=$1; basic=$2; shift 2',
  'e=$(mktemp) || exit 1',
  'o=$(bjobs -a -o "$full" -json "$@" 2>"$e"); r=$?',
  `case $o in *'"RECORDS"'*) ;; *) if [ ! -s "$e" ] || grep -qvE '^[[:space:]]*$|is not found|No (unfinished )?job found' "$e"; then rm -f "$e"; exec bjobs -a -o "$basic" -json "$@"; fi ;; esac`,
  'cat "$e" >&2; rm -f "$e"; printf \'%s\\n\' "$o"; exit $r',
].join('; '); // one line, so a login node's shell and its logs see one command

/**
 * The status command: explicit ids list jobs in every state while mbatchd remembers them
 * (CLEAN_PERIOD); `-a` says so for versions that want it. One `sh -c`, so it also runs as one
 * command on a login node (`sshCommand`).
 */
export function bjobsCommand(jobIds: readonly string[]): string[] {
  return ['sh', '-c', BJOBS_SCRIPT, 'sh', BJOBS_FIELDS.join(' '), BJOBS_BASIC_FIELDS.join(' '), ...jobIds];
}

/**
 * LSF's STAT words (OpenLava bjobs.1; IBM adds WAIT and PDONE; ert's state literal adds PERR).
 * UNKWN (mbatchd lost the execution host) keeps the job live, as ert does: the worker's own
 * connection says whether it still runs.
 */
export const LSF_STATES: Readonly<Record<string, JobStateKind>> = {
  PEND: 'queued',
  WAIT: 'queued',
  PSUSP: 'held',
  RUN: 'running',
  UNKWN: 'running',
  USUSP: 'suspended',
  SSUSP: 'suspended',
  DONE: 'completed',
  PDONE: 'completed',
  EXIT: 'failed',
  PERR: 'failed',
  // Killed while its host was unreachable (or requeued under a new id).
  ZOMBI: 'node-failure',
};

/** IBM "Termination reasons displayed by bacct, bhist, and bjobs": keyword → sentence. */
export const TERMINATION_REASONS: Readonly<Record<string, string>> = {
  TERM_ADMIN: 'Job killed by root or LSF administrator',
  TERM_BUCKET_KILL: 'Job killed with bkill -b',
  TERM_CHKPNT: 'Job killed after checkpointing',
  TERM_CPULIMIT: 'Job killed after reaching LSF CPU usage limit',
  TERM_CWD_NOTEXIST: 'Current working directory is not accessible or does not exist on the execution host',
  TERM_DEADLINE: 'Job killed after deadline expires',
  TERM_EXTERNAL_SIGNAL: 'Job killed by a signal external to LSF',
  TERM_FORCE_ADMIN: 'Job killed by root or LSF administrator without time for cleanup',
  TERM_FORCE_OWNER: 'Job killed by owner without time for cleanup',
  TERM_LOAD: 'Job killed after load exceeds threshold',
  TERM_MEMLIMIT: 'Job killed after reaching LSF memory usage limit',
  TERM_OWNER: 'Job killed by owner',
  TERM_PREEMPT: 'Job killed after preemption',
  TERM_PROCESSLIMIT: 'Job killed after reaching LSF process limit',
  TERM_REQUEUE_ADMIN: 'Job killed and requeued by root or LSF administrator',
  TERM_REQUEUE_OWNER: 'Job killed and requeued by owner',
  TERM_RUNLIMIT: 'Job killed after reaching LSF run time limit',
  TERM_SWAP: 'Job killed after reaching LSF swap usage limit',
  TERM_THREADLIMIT: 'Job killed after reaching LSF thread limit',
  TERM_WINDOW: 'Job killed after queue run window closed',
  TERM_ZOMBIE: 'Job exited while LSF is not available',
};

/**
 * A termination reason with its keyword in front: `TERM_RUNLIMIT: job killed after reaching
 * LSF run time limit`, whether bjobs printed the keyword, the sentence, or both.
 * @returns undefined for an empty field (`""`, `-`)
 */
export function terminationReason(text: string | undefined): string | undefined {
  const said = text?.trim();
  if (!said || said === '-') return undefined;
  if (/^TERM_[A-Z_]+\b/.test(said)) return said;
  const sentence = said.replace(/\.$/, '').toLowerCase();
  const keyword = Object.keys(TERMINATION_REASONS).find((key) => TERMINATION_REASONS[key]!.toLowerCase() === sentence);
  return keyword ? `${keyword}: ${said}` : said;
}

/** What a termination reason means to @cm, where it says more than "it failed". */
const TERMINATION_KINDS: Readonly<Record<string, JobStateKind>> = {
  TERM_RUNLIMIT: 'timeout',
  TERM_MEMLIMIT: 'out-of-memory',
  TERM_SWAP: 'out-of-memory',
  TERM_OWNER: 'cancelled',
  TERM_ADMIN: 'cancelled',
  TERM_FORCE_OWNER: 'cancelled',
  TERM_FORCE_ADMIN: 'cancelled',
  TERM_BUCKET_KILL: 'cancelled',
  TERM_REQUEUE_OWNER: 'cancelled',
  TERM_REQUEUE_ADMIN: 'cancelled',
  TERM_DEADLINE: 'deadline',
  TERM_PREEMPT: 'preempted',
  TERM_ZOMBIE: 'node-failure',
};

/** The kind of an ended job from its termination reason (`EXIT` + TERM_RUNLIMIT is a timeout), else undefined. */
export function classifyLsfStatus(status: RawJobStatus): JobStateKind | undefined {
  if (status.state !== 'EXIT' && status.state !== 'ZOMBI') return undefined;
  const keyword = /^TERM_[A-Z_]+/.exec(status.reason ?? '')?.[0];
  return keyword ? TERMINATION_KINDS[keyword] : undefined;
}

/** `bkill` found nothing left to kill: every complaint is "already finished" or "no matching job" (ert treats them as success). */
export function nothingLeftToKill({ stderr }: CommandOutput): boolean {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.length > 0 && lines.every((line) => /^Job <[^>]+>: (Job has already finished|No matching job found)/.test(line));
}

interface BjobsRecord {
  JOBID?: unknown;
  JOBINDEX?: unknown;
  STAT?: unknown;
  EXIT_CODE?: unknown;
  EXIT_REASON?: unknown;
  PEND_REASON?: unknown;
  ERROR?: unknown;
}

const field = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '');

/** One record as a status line: PEND_REASON for waiting jobs, the termination reason for ended ones. */
function statusOf(record: BjobsRecord): RawJobStatus | undefined {
  // `1234`, or `1234[3]` where the site shows elements that way (LSB_BJOBS_DISPLAY_ENH).
  const id = /^(\d+)(?:\[(\d+)\])?$/.exec(field(record.JOBID));
  const state = field(record.STAT);
  if (!id || !state) return undefined;
  const index = Number(field(record.JOBINDEX) || id[2] || 0);
  const waiting = state === 'PEND' || state === 'PSUSP' || state === 'WAIT';
  const pending = field(record.PEND_REASON);
  const reason = waiting ? (pending && pending !== '-' ? pending.replace(/;\s*$/, '') : undefined) : terminationReason(field(record.EXIT_REASON));
  const code = field(record.EXIT_CODE);
  // LSF prints no exit code for DONE (it is 0) and `-`/"" while a job runs.
  const exitCode = code && code !== '-' ? code : state === 'DONE' || state === 'PDONE' ? '0' : undefined;
  return { jobId: id[1]!, taskIndex: index > 0 ? index : null, state, reason, exitCode };
}

/**
 * The status lines in `bjobs -o … -json` output. Found jobs are on stdout whatever the exit
 * code (255 when some ids were unknown); ids mbatchd has forgotten are left out (stderr `Job
 * <N> is not found`, or a record with `ERROR`). Undefined when bjobs itself failed.
 */
export function parseBjobs({ stdout, stderr, exitCode }: CommandOutput): RawJobStatus[] | undefined {
  const start = stdout.indexOf('{');
  const end = stdout.lastIndexOf('}');
  if (start < 0) {
    // Nothing listed: fine when every id was simply unknown, a failure otherwise.
    const lines = stderr
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    return lines.length > 0 ? (lines.every((line) => /is not found|No (unfinished )?job found/.test(line)) ? [] : undefined) : exitCode === 0 ? [] : undefined;
  }
  let document: { RECORDS?: unknown };
  if (end < start) return undefined;
  try {
    document = JSON.parse(stdout.slice(start, end + 1)) as { RECORDS?: unknown };
  } catch {
    return undefined;
  }
  if (!Array.isArray(document.RECORDS)) return undefined;
  return (document.RECORDS as BjobsRecord[]).filter((record) => record && !record.ERROR).flatMap((record) => statusOf(record) ?? []);
}
