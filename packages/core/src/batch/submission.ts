/**
 * One submitted job (or job array) of a launch: which of its workers are alive, what the
 * scheduler says about it, progress while it waits, and failing the launch fast when it ends
 * before its workers join.
 * @module
 */
import { LaunchError } from '../errors.js';
import type { LaunchContext, TaskStateCount, WorkerConfig } from '../manager/types.js';
import { type JobLayout, type JobStatus, type SchedulerDriver, describeEnd, isEnded, isInQueue } from './driver.js';
import type { ProgressLine } from './progress.js';
import { describeProgress } from './progress.js';
import type { CommandRunner } from './runner.js';
import type { JobWatcher } from './watcher.js';

/** Task logs read to find the stderr of an array that ended as a whole. */
const MAX_TAILS_SEARCHED = 16;

export interface SubmissionInit {
  driver: SchedulerDriver;
  watcher: JobWatcher;
  runner: CommandRunner;
  context: LaunchContext;
  jobId: string;
  np: number;
  layout: JobLayout;
  scriptPath: string;
  /** The submitted file's text (submitted again to replace a job near its walltime). */
  script: string;
  /** The stderr log of one job or array task. */
  stderrPath(taskIndex: number | null): string;
  /** Submitted to replace a job near its walltime, after the launch itself succeeded. */
  replaces?: string | undefined;
  progress: ProgressLine;
  poll: { pollMs: number; pollMaxMs: number };
  /** Every job or task of it has ended (or it was cancelled): nothing of it is queued any more. */
  onGone(submission: Submission): void;
}

export class Submission {
  readonly jobId: string;
  readonly np: number;
  readonly layout: JobLayout;
  readonly scriptPath: string;
  readonly script: string;
  readonly replaces: string | undefined;
  readonly context: LaunchContext;
  readonly #init: SubmissionInit;
  /** Worker id → the job or array task it runs in. */
  readonly #alive = new Map<number, string>();
  /** Worker task indexes cancelled while queued (`withdrawQueued`): their end is no failure. */
  readonly #withdrawn = new Set<number>();
  #joined = 0;
  /** Task indexes of workers that joined. */
  readonly #joinedTasks = new Set<number>();
  #statuses: readonly JobStatus[] | undefined;
  #unwatch: (() => void) | undefined;
  #gone = false;
  #reported = false;
  /** When the job was submitted (`performance.now()`), for the elapsed time on the progress line. */
  readonly #submittedAt = performance.now();
  replacementTimer: NodeJS.Timeout | undefined;
  /** The cancel of this job under way (an abort, a timeout, close), until `shutdown` has reported how it ended. */
  cancelled: Promise<void> | undefined;

  constructor(init: SubmissionInit) {
    this.#init = init;
    this.jobId = init.jobId;
    this.np = init.np;
    this.layout = init.layout;
    this.scriptPath = init.scriptPath;
    this.script = init.script;
    this.replaces = init.replaces;
    this.context = init.context;
    this.#report();
    this.#unwatch = init.watcher.watch(init.jobId, {
      pollMs: init.poll.pollMs,
      pollMaxMs: init.poll.pollMaxMs,
      onStatus: (statuses) => this.#onStatus(statuses),
      onError: (error) => {
        if (!this.#launchSettled()) this.#emit(`${init.driver.name}: status of job ${this.jobId} unknown for now (${error.message.split('\n')[0]}); still trying`);
      },
    });
  }

  /** Nothing of this submission is left in the queue (all ended, or cancelled). */
  get gone(): boolean {
    return this.#gone;
  }

  get statuses(): readonly JobStatus[] | undefined {
    return this.#statuses;
  }

  /** The job and what the scheduler last said about it, e.g. `slurm job 12 (array of 4): 2 RUNNING, 2 PENDING (Priority)`. */
  describe(): string {
    const { driver } = this.#init;
    const text = describeProgress(driver.name, this.jobId, this.#statuses, { joined: this.#joined, expected: this.np, tasks: this.#perTaskJobs ? this.np : undefined });
    return text.replace(/ - \d+\/\d+ workers joined$/, '') + (this.#statuses ? '' : ' (no status seen yet)');
  }

  /** Whether a worker belongs to this submission (its job id is the submission's). */
  owns(worker: WorkerConfig): boolean {
    return worker.launchId === this.context.launchId && worker.jobId === this.jobId;
  }

  /** Each worker is an array task the scheduler knows by number (not a task of one job, nor a plain job). */
  get #perTaskJobs(): boolean {
    return this.layout === 'array' && this.#init.driver.layouts.array?.plainJob?.(this.np) !== true;
  }

  /** The scheduler's own task number of a worker (workers count from 0; Grid Engine, LSF and PBS arrays from 1). */
  #schedulerTask(worker: WorkerConfig): number | null {
    return this.#perTaskJobs && worker.taskIndex !== null ? worker.taskIndex + (this.#init.driver.layouts.array?.indexBase ?? 0) : null;
  }

  /** The job or array task a worker runs in, as the scheduler names it. */
  unitOf(worker: WorkerConfig): string {
    const task = this.#schedulerTask(worker);
    return task === null ? this.jobId : this.#init.driver.taskJobId(this.jobId, task);
  }

  /** The scheduler's status of the job or array task a worker runs in. */
  statusOf(worker: WorkerConfig): JobStatus | undefined {
    const task = this.#schedulerTask(worker);
    return this.#statuses?.find((status) => status.taskIndex === task) ?? this.#statuses?.find((status) => status.taskIndex === null);
  }

  workerJoined(worker: WorkerConfig): void {
    this.#joined++;
    if (worker.taskIndex !== null) this.#joinedTasks.add(worker.taskIndex);
    this.#alive.set(worker.id, this.unitOf(worker));
    this.#report();
  }

  /**
   * A worker was removed or lost. Returns the job or array task to cancel when no worker of it
   * is left (for a multi-task job: its last worker), else undefined.
   */
  workerLeft(worker: WorkerConfig): string | undefined {
    const unit = this.#alive.get(worker.id);
    if (unit === undefined) return undefined;
    this.#alive.delete(worker.id);
    if ([...this.#alive.values()].includes(unit)) return undefined;
    if (!this.#perTaskJobs && this.#joined < this.np) return undefined;
    return unit;
  }

  /**
   * Take up to `max` workers that are still queued out of the launch (newest tasks first), for
   * the caller to cancel: the array tasks' ids, or the whole job when it is one job for all its
   * workers, none of which has joined, and all are asked for. Nothing is taken that has joined,
   * is joining, or that the scheduler says has started.
   */
  withdrawQueued(max: number): { ids: string[]; workers: number; whole: boolean } {
    const none = { ids: [], workers: 0, whole: false };
    const queued = (task: number | null) => {
      const status = this.#statuses?.find((s) => s.taskIndex === task) ?? this.#statuses?.find((s) => s.taskIndex === null);
      return status === undefined || status.kind === 'queued' || status.kind === 'held';
    };
    if (!this.#perTaskJobs) {
      if (this.#joined > 0 || this.#withdrawn.size > 0 || max < this.np || !queued(null)) return none;
      const accepted = this.context.withdraw(Array.from({ length: this.np }, (_, task) => task));
      for (const task of accepted) this.#withdrawn.add(task);
      return accepted.length === this.np ? { ids: [this.jobId], workers: this.np, whole: true } : none;
    }
    const base = this.#init.driver.layouts.array?.indexBase ?? 0;
    const candidates: number[] = [];
    for (let task = this.np - 1; task >= 0 && candidates.length < max; task--) {
      if (this.#withdrawn.has(task) || this.#joinedTasks.has(task) || !queued(task + base)) continue;
      candidates.push(task);
    }
    const accepted = candidates.length > 0 ? this.context.withdraw(candidates) : [];
    for (const task of accepted) this.#withdrawn.add(task);
    return { ids: accepted.map((task) => this.#init.driver.taskJobId(this.jobId, task + base)), workers: accepted.length, whole: false };
  }

  /** Stop watching it: it was cancelled, or the manager is shutting down. */
  markGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    clearTimeout(this.replacementTimer);
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#init.progress.finish();
    this.#init.onGone(this);
  }

  #launchSettled(): boolean {
    return this.#joined + this.#withdrawn.size >= this.np || this.context.signal.aborted || this.#gone;
  }

  /** A status about a task cancelled while queued: its end is what was asked for. */
  #isWithdrawn(status: JobStatus): boolean {
    if (this.#withdrawn.size === 0) return false;
    if (status.taskIndex === null) return this.#withdrawn.size >= this.np;
    return this.#withdrawn.has(status.taskIndex - (this.#init.driver.layouts.array?.indexBase ?? 0));
  }

  #onStatus(statuses: readonly JobStatus[]): void {
    this.#statuses = statuses;
    this.#report();
    const ended = statuses.filter((status) => isEnded(status.kind) && !this.#isWithdrawn(status));
    if (ended.length > 0 && !this.#launchSettled()) void this.#failFast(ended[0]!);
    // Status lists every live task (pending ones too), so all listed ended means none is left;
    // a pending array task cancelled on its own simply vanishes from Slurm's list. A job in an
    // error state is still held by the scheduler: it stays ours to cancel.
    if (statuses.length > 0 && !statuses.some((status) => isInQueue(status.kind))) this.markGone();
  }

  /** A job or task ended before the launch's workers joined: fail `addprocs` with what the job wrote to stderr. */
  async #failFast(status: JobStatus): Promise<void> {
    const { driver } = this.#init;
    const unit = status.taskIndex === null ? this.jobId : driver.taskJobId(this.jobId, status.taskIndex);
    const [{ stderrPath, tail }, why] = await Promise.all([this.#stderrOf(status), this.#explain()]);
    const where = stderrPath ? `; its stderr is in ${stderrPath}` : '';
    const said = why ? ` — ${driver.name} says: ${why}` : '';
    this.context.fail(
      new LaunchError(`${describeEnd(driver.name, unit, status)}${said} — before its workers joined (${this.#joined} of ${this.np} joined)${where}; job script: ${this.scriptPath}`, {
        manager: driver.name,
        joined: this.context.joined(),
        expected: this.np,
        stderrTail: tail,
      }),
    );
  }

  /**
   * The stderr of the job or task that ended. An array the scheduler has forgotten as a whole
   * (Grid Engine drops finished tasks from `qstat`) names no task: the first task's stderr
   * that has anything in it is the one.
   */
  async #stderrOf(status: JobStatus): Promise<{ stderrPath: string | undefined; tail: string | undefined }> {
    const { runner } = this.#init;
    if (!this.#perTaskJobs || status.taskIndex !== null) {
      const stderrPath = this.#init.stderrPath(this.#perTaskJobs ? status.taskIndex : null);
      return { stderrPath, tail: await runner.readTail(stderrPath) };
    }
    const base = this.#init.driver.layouts.array?.indexBase ?? 0;
    for (let task = base; task < base + Math.min(this.np, MAX_TAILS_SEARCHED); task++) {
      const stderrPath = this.#init.stderrPath(task);
      const tail = await runner.readTail(stderrPath);
      if (tail) return { stderrPath, tail };
    }
    return { stderrPath: undefined, tail: undefined };
  }

  /** The scheduler's own account of why the job failed, when the driver knows how to ask (`qstat -j`). */
  async #explain(): Promise<string | undefined> {
    const { driver, runner } = this.#init;
    if (!driver.explain) return undefined;
    try {
      return driver.explain.parse(await runner.run(driver.name, driver.explain.command(this.jobId)));
    } catch {
      return undefined;
    }
  }

  #report(): void {
    if (this.#reported) return;
    const { driver } = this.#init;
    const workers = { joined: this.#joined, expected: this.np, tasks: this.#perTaskJobs ? this.np : undefined };
    const render = (elapsed: string | undefined) => {
      const message = describeProgress(driver.name, this.jobId, this.#statuses, workers, elapsed);
      return this.replaces ? `${message} (replacing job ${this.replaces})` : message;
    };
    // The line on the terminal shows the time since submission; the event's message stays the
    // same between polls (its numbers carry the time), so programs can compare messages.
    const line = { render, since: this.#submittedAt };
    if (this.#launchSettled()) {
      this.#reported = true;
      this.#init.progress.finish(line);
    } else {
      this.#init.progress.update(line);
    }
    const { state, reason, states } = this.#currentState();
    this.context.progress({ message: render(undefined), jobIds: [this.jobId], state, reason, ...(this.#perTaskJobs && states ? { states } : {}) });
  }

  /**
   * The state to report and the tasks per state: once every worker has joined the job runs,
   * whatever the last poll (up to `pollMaxMs` old) said, so it is the scheduler's own word for
   * running, not PENDING. For an array, the state most of its tasks are in.
   */
  #currentState(): { state: string | undefined; reason: string | undefined; states: TaskStateCount[] | undefined } {
    const statuses = this.#statuses;
    if (this.#joined >= this.np) {
      const running = statuses?.find((status) => status.kind === 'running')?.state ?? Object.entries(this.#init.driver.status.states).find(([, kind]) => kind === 'running')?.[0] ?? 'running';
      return { state: running, reason: undefined, states: [{ state: running, count: this.np }] };
    }
    if (!statuses || statuses.length === 0) return { state: undefined, reason: undefined, states: undefined };
    const counts = new Map<string, { state: string; reason?: string; count: number }>();
    for (const status of statuses) {
      const key = `${status.state}\0${status.reason ?? ''}`;
      const entry = counts.get(key) ?? { state: status.state, ...(status.reason ? { reason: status.reason } : {}), count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    const states = [...counts.values()].sort((x, y) => y.count - x.count);
    return { state: states[0]!.state, reason: states[0]!.reason, states };
  }

  #emit(message: string): void {
    this.#init.progress.update(message);
    this.context.progress({ message, jobIds: [this.jobId] });
  }
}
