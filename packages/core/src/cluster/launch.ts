/**
 * One `addprocs` in progress: its manager, the workers that joined, and how it ends
 * (all joined, failed, timed out, aborted).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { LaunchError } from '../errors.js';
import type { ClusterManager, LaunchContext, LaunchProgress } from '../manager/types.js';
import { WORKER_ENV } from '../worker/env.js';
import { workerEntryPath } from '../worker/entry.js';
import { shellJoin } from '../util/shell.js';
import type { TransportSecurity } from '../protocol/transport.js';
import type { ListenAddress } from './listener.js';

/**
 * glibc returns every allocation over 32 MiB to the OS when it is freed, so each large
 * array a worker receives is fresh memory and pays a page fault per 4 KiB page — most of
 * the cost of a bulk transfer on virtual machines (measured: 180 ms to first-touch 64 MiB,
 * 4 ms to copy into reused memory). Workers keep freed memory up to 1 GiB for reuse instead.
 * Set these variables in a manager's `env` to override.
 */
export const WORKER_MALLOC_TUNING = {
  MALLOC_MMAP_THRESHOLD_: String(2 ** 30),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 30),
} as const;

export class Launch {
  readonly id = `L${randomBytes(6).toString('hex')}`;
  readonly joined: number[] = [];
  readonly controller = new AbortController();
  /** Settles when every expected worker has joined, or rejects with the launch's failure. */
  readonly done: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #settled = false;
  /** Tasks admitted so far (`jobId:taskIndex`): each task of a job joins once. A replacement job (walltime) has tasks of its own. */
  readonly #tasks = new Set<string>();
  readonly #startedAt = performance.now();
  /** The manager's last progress report, named in a timeout's error. */
  #lastProgress: LaunchProgress | undefined;
  /** Task indexes cancelled while queued (`cancelPending`): never waited for, never admitted. */
  readonly #withdrawn = new Set<number>();

  constructor(readonly manager: ClusterManager) {
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.done.catch(() => {});
  }

  get expected(): number {
    return this.manager.expectedWorkers - this.#withdrawn.size;
  }

  /**
   * Stop waiting for these tasks (cancelled while queued). Returns those accepted: a task a
   * worker has already claimed is not withdrawn. The launch succeeds if nothing else is awaited.
   */
  withdraw(tasks: readonly number[]): number[] {
    const claimed = new Set([...this.#tasks].map((key) => Number(key.slice(key.lastIndexOf(':') + 1))));
    const accepted = tasks.filter((task) => Number.isInteger(task) && task >= 0 && task < this.manager.expectedWorkers && !claimed.has(task) && !this.#withdrawn.has(task));
    for (const task of accepted) this.#withdrawn.add(task);
    if (accepted.length > 0 && this.joined.length >= this.expected) this.succeed();
    return accepted;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Milliseconds since the launch started. */
  elapsedMs(): number {
    return performance.now() - this.#startedAt;
  }

  /**
   * What was still pending, for a timeout's error: the manager's own account when it has one
   * (`describePending`), else its last progress report (job ids, state, reason).
   */
  describePending(): string {
    let described: string | undefined;
    try {
      described = this.manager.describePending?.(this.id);
    } catch {
      described = undefined;
    }
    if (described) return `; still pending: ${described}`;
    const last = this.#lastProgress;
    if (!last) return '';
    const jobs = last.jobIds?.length ? `job${last.jobIds.length > 1 ? 's' : ''} ${last.jobIds.join(', ')}` : undefined;
    const state = last.state ? `${last.state}${last.reason ? ` (${last.reason})` : ''}` : undefined;
    const summary = [jobs, state].filter(Boolean).join(': ');
    return `; last report: ${last.message}${summary && !last.message.includes(summary) ? ` [${summary}]` : ''}`;
  }

  /** Whether a worker claiming this launch may still join. */
  acceptsWorkers(): boolean {
    if (this.controller.signal.aborted) return false;
    return this.joined.length < this.expected || this.manager.acceptsLateWorkers === true;
  }

  /** Fail the launch after `timeoutMs`, or when `signal` aborts. Returns a function that stops watching. */
  failOnTimeoutOrAbort(timeoutMs: number, signal: AbortSignal | undefined): () => void {
    const name = this.manager.name;
    const counts = () => ({ manager: name, joined: this.joined.length, expected: this.expected });
    const timer = setTimeout(() => {
      this.fail(
        new LaunchError(
          `${name} launch timed out after ${timeoutMs} ms with ${this.joined.length} of ${this.expected} workers joined${this.describePending()}; raise addprocs' timeoutMs if the queue is slow`,
          counts(),
        ),
      );
    }, timeoutMs);
    const onAbort = () => this.fail(new LaunchError(`${name} launch was aborted with ${this.joined.length} of ${this.expected} workers joined`, counts(), { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    return () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  /**
   * Reserve `taskIndex` for a worker being admitted. Returns why it cannot join, or undefined.
   * Task indexes count from 0; a launch of a fixed size has tasks 0 … expected − 1.
   */
  claimTask(taskIndex: number | null, jobId: string | null = null): string | undefined {
    if (taskIndex === null) return this.#withdrawn.size > 0 && this.joined.length >= this.expected ? `launch ${this.id} was cut short; it takes no more workers` : undefined;
    if (this.#withdrawn.has(taskIndex)) return `task ${taskIndex} of launch ${this.id} was cancelled while queued; it is not admitted`;
    const key = `${jobId ?? ''}:${taskIndex}`;
    if (!this.manager.acceptsLateWorkers && taskIndex >= this.expected) {
      return `launch ${this.id} has tasks 0 to ${this.expected - 1}; a worker claiming task ${taskIndex} was not started by it`;
    }
    if (this.#tasks.has(key)) return `task ${taskIndex}${jobId ? ` of job ${jobId}` : ''} of launch ${this.id} has already joined; a second worker claiming it is refused`;
    this.#tasks.add(key);
    return undefined;
  }

  workerJoined(id: number): void {
    this.joined.push(id);
    if (this.joined.length >= this.expected) this.succeed();
  }

  succeed(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve();
  }

  fail(error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    const launchError =
      error instanceof LaunchError
        ? error
        : new LaunchError(`${this.manager.name} launch failed: ${error.message}`, { manager: this.manager.name, joined: this.joined.length, expected: this.expected }, { cause: error });
    this.#reject(launchError);
    this.controller.abort(launchError);
  }

  context(master: ListenAddress, { encrypt, secret }: TransportSecurity, onProgress: (update: LaunchProgress) => void): LaunchContext {
    const file = process.execPath;
    const args = [workerEntryPath()];
    return {
      launchId: this.id,
      workerCommand: { file, args },
      workerCommandLine: shellJoin([file, ...args]),
      workerEnv: {
        ...WORKER_MALLOC_TUNING,
        [WORKER_ENV.masterHost]: master.host,
        [WORKER_ENV.masterPort]: String(master.port),
        [WORKER_ENV.launchId]: this.id,
        [WORKER_ENV.secret]: secret.toString('base64url'),
        ...(encrypt ? { [WORKER_ENV.tls]: '1' } : {}),
      },
      master,
      signal: this.controller.signal,
      joined: () => this.joined.length,
      progress: (update) => {
        this.#lastProgress = update;
        onProgress(update);
      },
      fail: (error) => this.fail(error),
      withdraw: (tasks) => this.withdraw(tasks),
    };
  }
}
