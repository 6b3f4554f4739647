/**
 * What a batch-scheduler driver declares: the handful of things specific to its scheduler
 * (directive prefix, submit command and job-id parser, array syntax and task variable,
 * status command and state table, cancel command, option-to-flag mapping). Everything else —
 * rendering, submitting with retry, watching, progress, failing fast, cancelling — lives once
 * in {@link JobQueueManager}. See docs/batch-schedulers.md.
 * @module
 */

/**
 * What a job state means to @cm, whatever the scheduler calls it.
 * The first five are live; every other kind means the job (or array task) has ended.
 */
export type JobStateKind =
  | 'queued'
  | 'held'
  | 'starting'
  | 'running'
  | 'suspended'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'timeout'
  | 'out-of-memory'
  | 'node-failure'
  | 'preempted'
  | 'boot-failure'
  | 'deadline'
  | 'ended';

const LIVE_KINDS: ReadonlySet<JobStateKind> = new Set(['queued', 'held', 'starting', 'running', 'suspended']);

/** Whether a job in this state has ended (it will not run, or run again, by itself). */
export function isEnded(kind: JobStateKind): boolean {
  return !LIVE_KINDS.has(kind);
}

/** One line of the scheduler's status output, as the driver parsed it. */
export interface RawJobStatus {
  /** The submission's id, as `submit.parseJobId` returned it (the array's id for array tasks). */
  jobId: string;
  /** The array task index, or null when the line is about the whole job. */
  taskIndex: number | null;
  /** The scheduler's own word for the state (`PENDING`, `RUNNING`, `r`, `qw`…). */
  state: string;
  /** Why the job is in that state, as the scheduler says (`Resources`, `Priority`…), when it says. */
  reason?: string | undefined;
  /** Exit code as the scheduler prints it, when it does. */
  exitCode?: string | undefined;
}

/** A status line with its meaning attached. */
export interface JobStatus extends RawJobStatus {
  kind: JobStateKind;
}

/** What a scheduler command printed. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

/** A program and its arguments, e.g. `['sbatch', '--parsable', '/path/job.sh']`. */
export type Argv = readonly string[];

/**
 * One flag as command-line words: `['--mem=4G']`, `['-p', 'debug']`, `['--exclusive']`.
 * In a job script each flag is one directive line; on a command line the words follow each other.
 */
export type Flag = readonly string[];

/** How N workers are asked for in one submission. */
export type JobLayout = 'array' | 'tasks';

/** The job script lines and variables for one layout. */
export interface LayoutDeclaration {
  /** Flags (rendered as directives) that ask for `np` workers, e.g. `[['--array=0-7']]`. */
  flags(np: number): Flag[];
  /** Variables that hold a worker's task index inside the job (first set one wins). */
  taskIndexVars: readonly string[];
  /** Variables that hold the submission's job id inside the job (first set one wins). */
  jobIdVars: readonly string[];
  /** The command that starts one worker per task inside a multi-task job (`['srun']`); arrays run the worker directly. */
  launcher?: Argv;
  /** The log-file name pattern for one job or task, in the scheduler's placeholders (`%A_%a`, `%j`). */
  logPattern: string;
  /** That pattern resolved for a known job id and task index. */
  logName(jobId: string, taskIndex: number | null): string;
}

/** An option value a driver maps to a flag: `''` or `true` gives a bare flag, `false` leaves it out. */
export type FlagValue = string | number | boolean;

/**
 * Everything specific to one batch scheduler. A driver file is mostly this object.
 *
 * @example The shape of a driver (packages/slurm in this repository is a complete one)
 * ```ts
 * const driver: SchedulerDriver = {
 *   name: 'slurm',
 *   directivePrefix: '#SBATCH',
 *   submit: { command: (script) => ['sbatch', '--parsable', script], parseJobId: (out) => /^(\d+)/.exec(out)?.[1] },
 *   …
 * };
 * ```
 */
export interface SchedulerDriver {
  /** Short name used in messages, progress lines, config sections and env variables (`slurm` → `CM_SLURM_*`). */
  readonly name: string;
  /** Prefix of directive lines in the job script (`#SBATCH`, `#$`, `#PBS`, `#BSUB`). */
  readonly directivePrefix: string;
  /** Interpreter line of the job script (default `#!/bin/bash`). */
  readonly shebang?: string;
  readonly submit: {
    /** The command that submits the job script at `scriptPath`. */
    command(scriptPath: string): Argv;
    /** The job id in the submit command's stdout, or undefined if there is none. */
    parseJobId(stdout: string): string | undefined;
    /** stderr of a failed submission that is worth retrying (controller busy or unreachable). */
    transient?: RegExp;
    /** What to tell the user about a refused submission (e.g. which option to check), from its stderr. */
    hint?(stderr: string): string | undefined;
  };
  /** Layouts the scheduler supports, keyed by name. At least one. */
  readonly layouts: Partial<Record<JobLayout, LayoutDeclaration>>;
  /** Flags that name the job and send its stdout/stderr to these paths. */
  jobFlags(job: { name: string; stdoutPath: string; stderrPath: string }): Flag[];
  /** The user's scheduler options (already merged with site defaults) as flags, in a deterministic order. */
  optionFlags(options: Readonly<Record<string, FlagValue>>): Flag[];
  readonly status: {
    /** One command that reports all these jobs (array tasks one per line). */
    command(jobIds: readonly string[]): Argv;
    /** The status lines in its output; undefined when the output says the command failed. */
    parse(output: CommandOutput): RawJobStatus[] | undefined;
    /** The scheduler's state words and what they mean. Unknown words count as `queued`. */
    states: Readonly<Record<string, JobStateKind>>;
  };
  readonly cancel: {
    /** One command that cancels all these jobs or array tasks (ids as `taskJobId` gives them). */
    command(jobIds: readonly string[]): Argv;
  };
  /** The id of one array task, for cancelling it alone and for messages (`123_4`, `123.4`, `123[4]`). */
  taskJobId(jobId: string, taskIndex: number): string;
  /** Walltime requested by these options, in seconds, when they set one. */
  walltimeSeconds?(options: Readonly<Record<string, FlagValue>>): number | undefined;
  /** Last check of options and layout before anything is rendered: a message saying what is wrong, or undefined. */
  check?(options: Readonly<Record<string, FlagValue>>, np: number, layout: JobLayout): string | undefined;
  /**
   * Starting workers inside an allocation the master already runs in (`salloc`, `sbatch`),
   * without a new submission: one command that starts `np` tasks.
   */
  readonly allocation?: AllocationDeclaration;
}

/** How a driver starts workers inside the allocation the master runs in. */
export interface AllocationDeclaration {
  /** The allocation the environment says we are in, or undefined outside one. */
  detect(env: NodeJS.ProcessEnv): { jobId: string; tasks: number } | undefined;
  /** The command that starts `np` tasks of `worker` in the allocation (`srun --ntasks=4 … node worker.js`). */
  command(np: number, flags: readonly Flag[], worker: Argv): Argv;
  /** Variables holding a task's index. */
  taskIndexVars: readonly string[];
  /** Variables holding the allocation's job id. */
  jobIdVars: readonly string[];
}

/** Attach meaning to a raw status line with the driver's state table. */
export function classifyStatus(driver: SchedulerDriver, raw: RawJobStatus): JobStatus {
  return { ...raw, kind: driver.status.states[raw.state] ?? 'queued' };
}

const ENDINGS: Readonly<Partial<Record<JobStateKind, string>>> = {
  completed: 'it finished',
  failed: 'it failed',
  cancelled: 'it was cancelled (by its owner, an administrator or the scheduler)',
  timeout: 'it reached its walltime limit; ask for more time',
  'out-of-memory': 'it ran out of memory; ask for more memory',
  'node-failure': 'a node it ran on failed',
  preempted: 'it was preempted by a job of higher priority',
  'boot-failure': 'its node failed to boot',
  deadline: 'it reached its deadline',
};

/**
 * What happened to an ended job, for people:
 * `slurm job 12_3 ended TIMEOUT (TimeLimit): it reached its walltime limit; ask for more time`.
 */
export function describeEnd(scheduler: string, unitId: string, status: JobStatus): string {
  const reason = status.reason ? ` (${status.reason})` : '';
  const code = status.exitCode && status.exitCode !== '0:0' && status.exitCode !== '0' ? `, exit code ${status.exitCode}` : '';
  const meaning = ENDINGS[status.kind];
  return `${scheduler} job ${unitId} ended ${status.state}${reason}${code}${meaning ? `: ${meaning}` : ''}`;
}
