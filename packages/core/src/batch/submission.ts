/**
 * One submitted job (or job array) of a launch: which of its workers are alive, what the
 * scheduler says about it, progress while it waits, and failing the launch fast when it ends
 * before its workers join.
 * @module
 */
import { open } from 'node:fs/promises';
import { LaunchError } from '../errors.js';
import type { LaunchContext, WorkerConfig } from '../manager/types.js';
import { type JobLayout, type JobStatus, type SchedulerDriver, describeEnd, isEnded } from './driver.js';
import type { ProgressLine} from './progress.js';
import { describeProgress } from './progress.js';
import type { JobWatcher } from './watcher.js';

const STDERR_TAIL_LINES = 20;
const STDERR_TAIL_BYTES = 16_384;

export interface SubmissionInit {
  driver: SchedulerDriver;
  watcher: JobWatcher;
  context: LaunchContext;
  jobId: string;
  np: number;
  layout: JobLayout;
  scriptPath: string;
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
  readonly replaces: string | undefined;
  readonly context: LaunchContext;
  readonly #init: SubmissionInit;
  /** Worker id → the job or array task it runs in. */
  readonly #alive = new Map<number, string>();
  #joined = 0;
  #statuses: readonly JobStatus[] | undefined;
  #unwatch: (() => void) | undefined;
  #gone = false;
  #reported = false;
  replacementTimer: NodeJS.Timeout | undefined;

  constructor(init: SubmissionInit) {
    this.#init = init;
    this.jobId = init.jobId;
    this.np = init.np;
    this.layout = init.layout;
    this.scriptPath = init.scriptPath;
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

  /** Whether a worker belongs to this submission (its job id is the submission's). */
  owns(worker: WorkerConfig): boolean {
    return worker.launchId === this.context.launchId && worker.jobId === this.jobId;
  }

  /** The job or array task a worker runs in, as the scheduler names it. */
  unitOf(worker: WorkerConfig): string {
    return this.layout === 'array' && worker.taskIndex !== null ? this.#init.driver.taskJobId(this.jobId, worker.taskIndex) : this.jobId;
  }

  /** The scheduler's status of the job or array task a worker runs in. */
  statusOf(worker: WorkerConfig): JobStatus | undefined {
    const task = this.layout === 'array' ? worker.taskIndex : null;
    return this.#statuses?.find((status) => status.taskIndex === task) ?? this.#statuses?.find((status) => status.taskIndex === null);
  }

  workerJoined(worker: WorkerConfig): void {
    this.#joined++;
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
    if (this.layout === 'tasks' && this.#joined < this.np) return undefined;
    return unit;
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
    return this.#joined >= this.np || this.context.signal.aborted || this.#gone;
  }

  #onStatus(statuses: readonly JobStatus[]): void {
    this.#statuses = statuses;
    this.#report();
    const ended = statuses.filter((status) => isEnded(status.kind));
    if (ended.length > 0 && !this.#launchSettled()) void this.#failFast(ended[0]!);
    // Status lists every live task (pending ones too), so all listed ended means none is left;
    // a pending array task cancelled on its own simply vanishes from Slurm's list.
    if (statuses.length > 0 && ended.length === statuses.length) this.markGone();
  }

  /** A job or task ended before the launch's workers joined: fail `addprocs` with what the job wrote to stderr. */
  async #failFast(status: JobStatus): Promise<void> {
    const { driver } = this.#init;
    const unit = status.taskIndex === null ? this.jobId : driver.taskJobId(this.jobId, status.taskIndex);
    const task = this.layout === 'array' ? status.taskIndex : null;
    const stderrPath = this.layout === 'array' && task === null ? undefined : this.#init.stderrPath(task);
    const tail = stderrPath ? await readTail(stderrPath) : undefined;
    const where = stderrPath ? `; its stderr is in ${stderrPath}` : '';
    this.context.fail(
      new LaunchError(`${describeEnd(driver.name, unit, status)} — before its workers joined (${this.#joined} of ${this.np} joined)${where}; job script: ${this.scriptPath}`, {
        manager: driver.name,
        joined: this.context.joined(),
        expected: this.np,
        stderrTail: tail,
      }),
    );
  }

  #report(): void {
    if (this.#reported) return;
    const { driver } = this.#init;
    const message = describeProgress(driver.name, this.jobId, this.#statuses, {
      joined: this.#joined,
      expected: this.np,
      tasks: this.layout === 'array' ? this.np : undefined,
    });
    const text = this.replaces ? `${message} (replacing job ${this.replaces})` : message;
    if (this.#launchSettled()) {
      this.#reported = true;
      this.#init.progress.finish(text);
    } else {
      this.#init.progress.update(text);
    }
    const first = this.#statuses?.[0];
    this.context.progress({ message: text, jobIds: [this.jobId], state: first?.state, reason: first?.reason });
  }

  #emit(message: string): void {
    this.#init.progress.update(message);
    this.context.progress({ message, jobIds: [this.jobId] });
  }
}

/** The last lines of a log file, or undefined when it cannot be read (yet). */
export async function readTail(file: string, lines = STDERR_TAIL_LINES): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, STDERR_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').split('\n').filter(Boolean).slice(-lines).join('\n');
    return text || undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}
