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
 * The first five are live; every other kind means the job (or array task) has ended, or (`error`)
 * will not run although the scheduler still holds it.
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
  | 'error'
  | 'ended';

const LIVE_KINDS: ReadonlySet<JobStateKind> = new Set(['queued', 'held', 'starting', 'running', 'suspended']);

/** Whether a job in this state has ended (it will not run, or run again, by itself). */
export function isEnded(kind: JobStateKind): boolean {
  return !LIVE_KINDS.has(kind);
}

/**
 * Whether the scheduler still holds the job, so it must be cancelled to go away: every live
 * kind, and `error` — a job stuck in an error state that will not run without an
 * administrator (Grid Engine's `Eqw`).
 */
export function isInQueue(kind: JobStateKind): boolean {
  return LIVE_KINDS.has(kind) || kind === 'error';
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
  /** Exit code, when the scheduler says; a driver normalises "nothing went wrong" to `0`. */
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

/** What a layout's flags may depend on. */
export interface LayoutContext {
  /** Workers of the launch. */
  np: number;
  /** The job name (`jobName` option); LSF puts its array into the name (`-J "cm[1-8]"`). */
  jobName: string;
  /** The user's scheduler options after site defaults (e.g. Grid Engine's parallel environment). */
  options: Readonly<Record<string, FlagValue>>;
}

/** The job script lines and variables for one layout. */
export interface LayoutDeclaration {
  /**
   * The first task index the scheduler uses: 0 (Slurm arrays, srun ranks) or 1 (Grid Engine
   * `-t 1-N`, LSF `name[1-N]`, PBS `-J 1-N`). Workers are numbered from 0 for the user
   * whatever this is; status lines, log names, `taskJobId` and cancel use the scheduler's own
   * numbers. Default 0.
   */
  indexBase?: 0 | 1;
  /** Flags (rendered as directives) that ask for `np` workers, e.g. `[['--array=0-7']]`. */
  flags(context: LayoutContext): Flag[];
  /** Variables that hold a worker's task index inside the job (first set one wins). */
  taskIndexVars: readonly string[];
  /** Variables that hold the submission's job id inside the job (first set one wins). */
  jobIdVars: readonly string[];
  /** The command that starts one worker per task inside a multi-task job (`['srun']`); arrays run the worker directly. */
  launcher?: Argv;
  /** The log-file name pattern for one job or task, in the scheduler's placeholders (`%A_%a`, `%j`). */
  logPattern: string;
  /** That pattern resolved for a known job id and task (the scheduler's own task number). */
  logName(jobId: string, taskIndex: number | null): string;
  /**
   * The file a job or task really writes, given the path the directives named (with the
   * layout's placeholders), when the scheduler does not expand placeholders but names files
   * its own way (Torque appends `-<index>` to an array task's `-e` path). Default: the
   * directive's path with `logName` in place of the pattern.
   */
  logFile?(directivePath: string, jobId: string, taskIndex: number | null): string;
  /**
   * Shell lines the job runs before the workers start, after @cm's settings: e.g. deriving a
   * variable the scheduler does not set (Torque gives an array task only its own id
   * `12[3].host`; a line can export the array's id `12[].host` for `jobIdVars`).
   */
  setup?(context: LayoutContext): string[];
  /**
   * Submit a plain job instead of an array for this many workers (PBS Pro refuses a
   * one-element `-J` range). The layout's `flags` must then leave the array flag out; the
   * worker is task 0 and the job is watched and cancelled as a whole.
   */
  plainJob?(np: number): boolean;
}

/** An option value a driver maps to a flag: `''` or `true` gives a bare flag, `false` leaves it out. */
export type FlagValue = string | number | boolean;

/**
 * How option keys become flags. `gnu`: `--key=value` (one-letter keys `-k value`), keys in
 * kebab-case (Slurm). `single-dash`: `-key value` with keys in snake_case (Grid Engine's
 * `-hold_jid 12`, PBS's `-l walltime=1:00:00`, LSF's `-W 30`).
 */
export type FlagStyle = 'gnu' | 'single-dash';

/** What a driver renders besides the directive header: the inputs of {@link SchedulerDriver.render}. */
export interface RenderInput {
  /** The body script: worker settings, prologue and the command that starts the workers (no directives). */
  body: string;
  /** Where the body script is written (executable), for formats that run it by path. */
  bodyPath: string;
  /** Every flag the default renderer would write as a directive (job flags, layout flags, option flags). */
  flags: readonly Flag[];
  np: number;
  jobName: string;
  layout: JobLayout;
  /** The job's stdout and stderr paths, in the layout's placeholders. */
  stdoutPath: string;
  stderrPath: string;
  /** The user's scheduler options after site defaults. */
  options: Readonly<Record<string, FlagValue>>;
}

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
  /** How option keys become flags (default `gnu`). */
  readonly flagStyle?: FlagStyle;
  /**
   * One word of a directive line as the scheduler must read it (default: POSIX shell quoting).
   * Slurm reads `\` as an escape even inside quotes, so its driver doubles backslashes.
   */
  directiveWord?(word: string): string;
  readonly submit: {
    /**
     * The command that submits the job script at `scriptPath`; `extraFlags` are the user's free
     * flags (`sbatchFlags`, `qsubFlags`…), to put before the script; `logs` are the job's log
     * paths in the layout's placeholders, for schedulers that take them only on the command
     * line (Slurm's Torque-compatible `qsub` ignores `#PBS -o`).
     */
    command(scriptPath: string, extraFlags: readonly string[], logs: { stdoutPath: string; stderrPath: string }): Argv;
    /** `'script'`: the script also goes on the command's stdin (`bsub < job.sh`: LSF reads directives only that way). */
    stdin?: 'script';
    /**
     * The job id in what a successful submit command printed, or undefined if there is none.
     * `stderr` is for schedulers that may print it there (OpenLava's bsub with `BSUB_STDERR` set).
     */
    parseJobId(stdout: string, stderr?: string): string | undefined;
    /** stderr (or stdout) of a failed submission that is worth retrying (controller busy or unreachable). */
    transient?: RegExp;
    /** What to tell the user about a refused submission (e.g. which option to check), from its output. */
    hint?(output: string): string | undefined;
    /**
     * The scheduler's telling line in a refusal, when it is not the last line of its output
     * (Grid Engine ends every refusal with `Exiting.`). Default: the last line with a letter or digit.
     */
    said?(output: CommandOutput): string | undefined;
  };
  /** Layouts the scheduler supports, keyed by name. At least one. */
  readonly layouts: Partial<Record<JobLayout, LayoutDeclaration>>;
  /** Flags that name the job and send its stdout/stderr to these paths. */
  jobFlags(job: { name: string; stdoutPath: string; stderrPath: string; layout: JobLayout }): Flag[];
  /**
   * The user's scheduler options (already merged with site defaults) as flags, in a
   * deterministic order. Default: every key as a flag in the driver's `flagStyle`, typed
   * options first in the order the driver's schema declares them.
   */
  optionFlags?(options: Readonly<Record<string, FlagValue>>): Flag[];
  /**
   * A submit file in a format of the scheduler's own (HTCondor's submit description), from
   * the body script and the flags; the body is then written beside it as an executable. By
   * default the submitted file is the body with the flags as directives in front.
   */
  render?(input: RenderInput): string;
  /** The submitted file's name ending (default `.sh`; HTCondor's submit description `.sub`). */
  readonly submitFileSuffix?: string;
  readonly status: {
    /** One command that reports all these jobs (array tasks one per line). */
    command(jobIds: readonly string[]): Argv;
    /** The status lines in its output (task numbers as the scheduler counts); undefined when the output says the command failed. */
    parse(output: CommandOutput): RawJobStatus[] | undefined;
    /** The scheduler's state words and what they mean. Unknown words count as `queued`. */
    states: Readonly<Record<string, JobStateKind>>;
    /**
     * What a status line means when its state word alone does not say: LSF's one `EXIT` state
     * is a walltime kill with `TERM_RUNLIMIT`, a cancel with `TERM_OWNER`… Undefined falls back to `states`.
     */
    classify?(status: RawJobStatus): JobStateKind | undefined;
  };
  readonly cancel: {
    /** One command that cancels all these jobs or array tasks (ids as `taskJobId` gives them). */
    command(jobIds: readonly string[]): Argv;
    /**
     * Whether a cancel command that exited non-zero still left nothing to cancel (`bkill`:
     * "Job has already finished"; PBS `qdel`: "Unknown Job Id"). Default: only exit code 0 is success.
     */
    done?(output: CommandOutput): boolean;
  };
  /** The id of one array task (the scheduler's own task number), for cancelling it alone and for messages (`123_4`, `123.4`, `123[4]`). */
  taskJobId(jobId: string, taskIndex: number): string;
  /**
   * Why a job that ended failed, in the scheduler's words, when the status command does not
   * say (Grid Engine's `qstat -j` error reason of an `Eqw` job). Asked once when a job fails
   * its launch.
   */
  explain?: {
    command(jobId: string): Argv;
    parse(output: CommandOutput): string | undefined;
  };
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

/**
 * A scheduler reached only through long-lived commands, with no queue of its own to submit
 * to, watch or cancel (Grid Engine's `qrsh`, Scyld's `bpsh`): the same options machinery, and
 * one {@link ProcessLaunchDeclaration}.
 */
export interface ProcessDriver {
  /** Short name used in messages, config sections and env variables. */
  readonly name: string;
  /** How option keys become flags (default `gnu`). */
  readonly flagStyle?: FlagStyle;
  /** The user's scheduler options as flags (default: every key in `flagStyle`, typed options first). */
  optionFlags?(options: Readonly<Record<string, FlagValue>>): Flag[];
  /** How the workers' commands are started and stopped. */
  readonly processes: ProcessLaunchDeclaration;
  /** Walltime requested by these options, in seconds, when they set one. */
  walltimeSeconds?(options: Readonly<Record<string, FlagValue>>): number | undefined;
  /** Last check of the options: a message saying what is wrong, or undefined. */
  check?(options: Readonly<Record<string, FlagValue>>, np: number): string | undefined;
}

/** Whether a driver submits to a queue (else it starts long-lived commands). */
export function isQueueDriver(driver: SchedulerDriver | ProcessDriver): driver is SchedulerDriver {
  return 'submit' in driver;
}

/** How a driver starts workers inside the allocation the master runs in. */
export interface AllocationDeclaration extends ProcessLaunchDeclaration {
  /** The allocation the environment says we are in, or undefined outside one. */
  detect(env: NodeJS.ProcessEnv): { jobId: string; tasks: number } | undefined;
}

/**
 * Workers started as long-lived local commands instead of a queued job: `srun` inside an
 * allocation (one command per launch), `qrsh -now no …` (Grid Engine) or `bpsh NODE …`
 * (Scyld), one command per worker. The command runs as long as its workers; ending it ends
 * them (or `stop` does, where it does not).
 */
export interface ProcessLaunchDeclaration {
  /** One command for the whole launch (`srun --ntasks=N`), or one per worker (`qrsh`, `bpsh`). */
  per: 'launch' | 'worker';
  /**
   * Where the workers go, asked once per launch before anything starts (Scyld's
   * `beomap --no-local --np N`): the command, and its output parsed into one place per worker
   * (or a message saying why there is none).
   */
  place?: {
    command(np: number): Argv;
    parse(output: CommandOutput, np: number): string[] | { error: string };
  };
  /**
   * The command that starts the workers: for `per: 'launch'` all `np` of them, for
   * `per: 'worker'` the one with task `index` (at `place`, when placed). `flags` are the
   * user's scheduler options as flags, `extraFlags` the free ones.
   */
  command(context: { np: number; index: number; place: string | undefined; flags: readonly Flag[]; extraFlags: readonly string[]; worker: Argv }): Argv;
  /**
   * The signal that ends the local command cleanly, before SIGKILL after the grace period
   * (default SIGTERM). Grid Engine's `qrsh` deletes its job only on SIGINT while it still
   * waits in the queue (SIGTERM is ignored then, SIGKILL leaves the job queued).
   */
  stopSignal?: NodeJS.Signals;
  /**
   * A command that stops a worker when ending the local command does not stop it (Scyld:
   * killing `bpsh` leaves the remote process running; `bpsh NODE kill PID` ends it).
   */
  stop?(context: { place: string | undefined; pid: number }): Argv;
  /** Variables holding a task's index (`per: 'launch'`; per-worker commands get theirs set directly). */
  taskIndexVars: readonly string[];
  /** Variables holding the job id the workers run in, when there is one. */
  jobIdVars: readonly string[];
  /** What to tell the user when the command fails before its worker joined, from its stderr (`qrsh`'s "could not be scheduled"). */
  hint?(stderr: string): string | undefined;
  /**
   * A line the command prints on stdout before the worker starts, whose group 1 is the remote
   * worker's pid, so `stop` can end a worker that has not joined yet (a launch that times out
   * while it starts). Without it, `stop` knows only the pids of joined workers.
   */
  remotePid?: RegExp;
}

/** Attach meaning to a raw status line with the driver's state table. */
export function classifyStatus(driver: SchedulerDriver, raw: RawJobStatus): JobStatus {
  return { ...raw, kind: driver.status.classify?.(raw) ?? driver.status.states[raw.state] ?? 'queued' };
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
  error: 'it is stuck in an error state and will not run',
};

/**
 * What happened to an ended job, for people:
 * `slurm job 12_3 ended TIMEOUT (TimeLimit): it reached its walltime limit; ask for more time`.
 */
export function describeEnd(scheduler: string, unitId: string, status: JobStatus): string {
  const reason = status.reason ? ` (${status.reason})` : '';
  const code = status.exitCode && status.exitCode !== '0' ? `, exit code ${status.exitCode}` : '';
  const meaning = ENDINGS[status.kind];
  return `${scheduler} job ${unitId} ended ${status.state}${reason}${code}${meaning ? `: ${meaning}` : ''}`;
}
