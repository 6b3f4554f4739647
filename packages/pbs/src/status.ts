/**
 * Reading what PBS prints: job ids (`1234[].server`, `1234[7].server`, a bare `1234` from the
 * wrappers over Slurm), the batched status of PBS Pro (`qstat -f -F json -x -t`) and of
 * Torque (`qstat -f -t`, text), the state letters of each dialect, and what an
 * `Exit_status` means. Sources: pbs.md §1–3 and §7, OpenPBS qstat.1B, Torque qstat.1.in.
 * @module
 */
import type { CommandOutput, JobStateKind, RawJobStatus } from '@cm/core/driver';
import type { PbsDialect } from './options.js';

/** A PBS job id split: the submission it belongs to (`1234[].srv` for array tasks) and the task index. */
export function splitJobId(id: string): { jobId: string; taskIndex: number | null } | undefined {
  const match = /^(\d+)(?:\[(\d*)\])?((?:\.\S+)?)$/.exec(id.trim());
  if (!match) return undefined;
  const [, seq, index, server] = match;
  if (index === undefined) return { jobId: `${seq}${server}`, taskIndex: null };
  return { jobId: `${seq}[]${server}`, taskIndex: index === '' ? null : Number(index) };
}

/** The id qsub printed: its last non-empty line, when that is a job id (`1234.srv`, `1234[].srv`, `1234`). */
export function parseQsubJobId(stdout: string): string | undefined {
  const last = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1);
  return last && /^\d+(?:\[\])?(?:\.\S+)?$/.test(last) ? last : undefined;
}

/** `1234[].srv` and task 7 → `1234[7].srv`; a plain or bare id stays as it is. */
export function taskJobId(jobId: string, task: number): string {
  return jobId.includes('[]') ? jobId.replace('[]', `[${task}]`) : jobId;
}

/**
 * PBS Pro / OpenPBS states (qstat.1B). `E` (exiting) and `B` (an array with a subjob begun)
 * are still the scheduler's; `X` (subjob done), `F` (finished, history) and `M` (moved to
 * another server) will not run here again. How it ended is in the reason and exit code.
 */
export const PBS_PRO_STATES: Readonly<Record<string, JobStateKind>> = {
  Q: 'queued',
  W: 'queued',
  T: 'queued',
  H: 'held',
  R: 'running',
  E: 'running',
  B: 'running',
  S: 'suspended',
  U: 'suspended',
  X: 'ended',
  F: 'ended',
  M: 'ended',
};

/** Torque states (qstat.1.in): `C` is completed whatever the outcome (kept `keep_completed` seconds). */
export const TORQUE_STATES: Readonly<Record<string, JobStateKind>> = {
  Q: 'queued',
  W: 'queued',
  T: 'queued',
  H: 'held',
  R: 'running',
  E: 'running',
  S: 'suspended',
  C: 'ended',
};

/** The wrappers over Slurm map Slurm states to Q, R, S, C (and U for a state they do not know). */
export const TORQUE_SLURM_STATES: Readonly<Record<string, JobStateKind>> = { Q: 'queued', R: 'running', S: 'suspended', C: 'ended', U: 'queued' };

/** `Exit_status` values below 0: the job did not end by itself (OpenPBS job.h, Torque pbs_job.h). */
const EXEC_CODES: Readonly<Record<PbsDialect, Readonly<Record<number, string>>>> = {
  pro: {
    [-1]: 'the job could not start on its node (JOB_EXEC_FAIL1)',
    [-2]: 'the job failed after its files were set up (JOB_EXEC_FAIL2)',
    [-3]: 'the job start was retried (JOB_EXEC_RETRY)',
    [-29]: 'killed for exceeding its walltime (JOB_EXEC_KILL_WALLTIME): ask for more `walltime`',
  },
  torque: {
    [-1]: 'the job could not start on its node (JOB_EXEC_FAIL1)',
    [-2]: 'the job failed after its files were set up (JOB_EXEC_FAIL2)',
    [-10]: 'killed for exceeding its memory limit (JOB_EXEC_OVERLIMIT_MEM): ask for more `memory`',
    [-11]: 'killed for exceeding its walltime (JOB_EXEC_OVERLIMIT_WT): ask for more `walltime`',
    [-12]: 'killed for exceeding its CPU time (JOB_EXEC_OVERLIMIT_CPUT)',
  },
  'torque-slurm': {},
};

const SIGNAL_NAMES: Readonly<Record<number, string>> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/** What an `Exit_status` says, for people; undefined for 0 or nothing to add. */
export function exitMeaning(exitStatus: number, dialect: PbsDialect): string | undefined {
  if (exitStatus < 0) return EXEC_CODES[dialect][exitStatus] ?? `PBS could not run or finish the job (Exit_status ${exitStatus})`;
  // The MOM records a job killed by a signal as 256 + the signal; a shell reports 128 + it.
  const signal = exitStatus > 256 ? exitStatus - 256 : exitStatus > 128 && exitStatus < 160 ? exitStatus - 128 : undefined;
  if (signal === undefined) return undefined;
  const name = SIGNAL_NAMES[signal] ?? `signal ${signal}`;
  if (signal === 15) return `killed by ${name}: cancelled (qdel) by its owner or an administrator, or stopped by the scheduler`;
  if (signal === 9) return `killed by ${name}: cancelled with force, or killed by the system (out of memory, node failure)`;
  return `killed by ${name}`;
}

/** The reason of a status line: the scheduler's comment and what the exit status means, when there is either. */
function reasonOf(comment: string | undefined, exitStatus: string | undefined, dialect: PbsDialect): string | undefined {
  const code = exitStatus !== undefined && /^-?\d+$/.test(exitStatus) ? exitMeaning(Number(exitStatus), dialect) : undefined;
  return [comment, code].filter(Boolean).join('; ') || undefined;
}

/** One job's attributes as the status parsers collect them. */
interface JobAttributes {
  state: string;
  comment?: string | undefined;
  exitStatus?: string | undefined;
}

/**
 * Status lines from jobs keyed by id: subjobs as tasks of their array; an array's own line
 * only when none of its subjobs is listed (so a queued, unexpanded array still shows).
 */
function toStatuses(jobs: ReadonlyMap<string, JobAttributes>, dialect: PbsDialect): RawJobStatus[] {
  const lines: RawJobStatus[] = [];
  const arraysWithTasks = new Set<string>();
  for (const id of jobs.keys()) {
    const split = splitJobId(id);
    if (split && split.taskIndex !== null) arraysWithTasks.add(split.jobId);
  }
  for (const [id, job] of jobs) {
    const split = splitJobId(id);
    if (!split || (split.taskIndex === null && arraysWithTasks.has(split.jobId) && id.includes('[]'))) continue;
    lines.push({ jobId: split.jobId, taskIndex: split.taskIndex, state: job.state, reason: reasonOf(job.comment, job.exitStatus, dialect), exitCode: job.exitStatus });
  }
  return lines;
}

/** Whether a failed qstat only complained about ids it does not know (any more): its good output still counts. */
function onlyUnknownIds(output: CommandOutput): boolean {
  const lines = output.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.every((line) => /Unknown Job Id|Job has finished/i.test(line));
}

/**
 * What qstat says for `-x` on a server whose `job_history_enable` is off: the server refuses
 * the whole request (PBSE_JOBHISTNOTSET, "PBS is not configured to maintain job history"),
 * qstat lists nothing and still exits 0 (pbs.md §3, OpenPBS qstat.c).
 */
export const HISTORY_OFF = /not configured to maintain job history|job_history_enable/i;

/**
 * `qstat -f -F json -x -t ids` (PBS Pro). The prologue is always printed; `Jobs` only when a
 * job matched. Exit 153 (an unknown id) and 35 (finished, without history) still carry the
 * good jobs on stdout.
 */
export function parseProJson(output: CommandOutput): RawJobStatus[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output.stdout);
  } catch {
    return output.exitCode !== 0 && output.stderr.trim() && onlyUnknownIds(output) ? [] : undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('pbs_version' in parsed)) return undefined;
  // Nothing listed because history is off says nothing about the jobs: not "all gone".
  if (HISTORY_OFF.test(output.stderr)) return undefined;
  if (output.exitCode !== 0 && !onlyUnknownIds(output)) return undefined;
  const entries = Object.entries((parsed as { Jobs?: Record<string, Record<string, unknown>> }).Jobs ?? {});
  const jobs = new Map<string, JobAttributes>();
  for (const [id, attrs] of entries) {
    const text = (name: string) => {
      const value = attrs[name];
      return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
    };
    jobs.set(id, { state: text('job_state') ?? '', comment: text('comment'), exitStatus: text('Exit_status') });
  }
  return toStatuses(jobs, 'pro');
}

/**
 * `qstat -f` text (Torque: `Job Id: X` and 4-space-indented `name = value`, long values
 * continued on TAB-indented lines; the wrappers over Slurm: TABs after `Job Id:` and before
 * each attribute). Exit 153 with nothing printed means every id is unknown.
 */
export function parseTorqueText(output: CommandOutput, dialect: PbsDialect): RawJobStatus[] | undefined {
  if (output.exitCode !== 0 && !(output.exitCode === 153 && onlyUnknownIds(output))) return undefined;
  const jobs = new Map<string, JobAttributes>();
  for (const record of output.stdout.split(/^Job Id:[ \t]*/m).slice(1)) {
    const [head = '', ...lines] = record.split('\n');
    const attrs = new Map<string, string>();
    let last: string | undefined;
    for (const line of lines) {
      const attribute = /^\s+([A-Za-z_][\w.]*) = (.*)$/.exec(line);
      if (attribute) attrs.set((last = attribute[1]!), attribute[2]!.trim());
      else if (last && line.startsWith('\t')) attrs.set(last, `${attrs.get(last)!}${line.trim()}`);
    }
    jobs.set(head.trim(), { state: attrs.get('job_state') ?? '', comment: attrs.get('comment'), exitStatus: attrs.get('exit_status') ?? attrs.get('Exit_status') });
  }
  return toStatuses(jobs, dialect);
}

/** Which PBS answered `qstat --version`: PBS Pro prints `pbs_version = …` on stdout, Torque `Version: …` on stderr, the wrappers over Slurm refuse the option. */
export function dialectFromVersion(output: CommandOutput): PbsDialect | undefined {
  if (/^pbs_version\s*=/m.test(output.stdout)) return 'pro';
  if (/^Version:\s*\S/m.test(output.stderr) || /^Version:\s*\S/m.test(output.stdout)) return 'torque';
  if (/Unknown option: version/.test(`${output.stderr}\n${output.stdout}`)) return 'torque-slurm';
  return undefined;
}

/**
 * How an ended job ended, from its exit status (PBS Pro `F`/`X` and Torque `C` are one state
 * whatever happened): 0 completed; the walltime and memory codes; a SIGTERM (256 + 15, or a
 * shell's 143) is qdel's; other non-zero failed. Undefined (the state table decides) for live
 * jobs and when the status says nothing (the wrappers over Slurm print no exit status).
 */
export function classifyEnded(status: RawJobStatus, states: Readonly<Record<string, JobStateKind>>, dialect: PbsDialect): JobStateKind | undefined {
  if (states[status.state] !== 'ended' || status.exitCode === undefined || !/^-?\d+$/.test(status.exitCode)) return undefined;
  const code = Number(status.exitCode);
  if (code === 0) return 'completed';
  if ((dialect === 'pro' && code === -29) || (dialect === 'torque' && code === -11)) return 'timeout';
  if (dialect === 'torque' && code === -10) return 'out-of-memory';
  if (code === 256 + 15 || code === 128 + 15) return 'cancelled';
  return 'failed';
}

/**
 * Whether a qdel that exited non-zero left nothing to cancel: every complaint is about a job
 * that is gone, finished or already going (pbs.md §4; a finished subjob is PBS Pro's
 * PBSE_NOHISTARRAYSUBJOB, `Request invalid for finished array subjob`, OpenPBS req_delete.c;
 * 168 is a job already exiting).
 */
export function cancelDone(output: CommandOutput, dialect: PbsDialect): boolean {
  // The wrappers over Slurm exit 1 without a word for an unknown or finished id.
  if (dialect === 'torque-slurm') return output.exitCode === 1 && !output.stderr.trim() && !output.stdout.trim();
  const lines = `${output.stderr}\n${output.stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return (
    lines.length > 0 && lines.every((line) => /^qdel: (Unknown Job Id|Job has finished|Request invalid for (state of job|finished array subjob)|Invalid request MSG=job cancel in progress)/.test(line))
  );
}
