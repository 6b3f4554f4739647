/**
 * Watching jobs: one batched status command per poll for every watched job of a scheduler in
 * this process (however many clusters and launches), at a rate that backs off while nothing
 * changes and starts fast again when something does.
 * @module
 */
import { backoffDelays } from '../util/backoff.js';
import { type JobStatus, type SchedulerDriver, classifyStatus } from './driver.js';
import { SchedulerError } from './errors.js';
import type { CommandRunner } from './runner.js';

/** A job missing from the status output this many polls in a row counts as ended. */
const MISSES_BEFORE_GONE = 2;

/** Told about every poll of the jobs it watches. */
export interface JobListener {
  /** All status lines about the job (one per array task, or one for the whole job). */
  onStatus(statuses: readonly JobStatus[]): void;
  /** The status command failed; polling goes on. */
  onError?(error: Error): void;
  /** Fastest and slowest poll interval this listener wants, ms. */
  pollMs: number;
  pollMaxMs: number;
}

const watchers = new WeakMap<SchedulerDriver, WeakMap<CommandRunner, JobWatcher>>();

/** The status poller of one scheduler (as reached through one runner). Get it with {@link JobWatcher.for}. */
export class JobWatcher {
  readonly #driver: SchedulerDriver;
  readonly #runner: CommandRunner;
  readonly #listeners = new Map<string, Set<JobListener>>();
  readonly #latest = new Map<string, JobStatus[]>();
  readonly #misses = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #delays: Generator<number, never> | undefined;
  #polling: Promise<void> | undefined;
  #again = false;
  #lastSignature = '';

  private constructor(driver: SchedulerDriver, runner: CommandRunner) {
    this.#driver = driver;
    this.#runner = runner;
  }

  /** The one watcher of this driver and runner in this process. */
  static for(driver: SchedulerDriver, runner: CommandRunner): JobWatcher {
    let byRunner = watchers.get(driver);
    if (!byRunner) watchers.set(driver, (byRunner = new WeakMap()));
    let watcher = byRunner.get(runner);
    if (!watcher) byRunner.set(runner, (watcher = new JobWatcher(driver, runner)));
    return watcher;
  }

  /** Watch a job until the returned function is called. The first poll happens at once. */
  watch(jobId: string, listener: JobListener): () => void {
    let set = this.#listeners.get(jobId);
    if (!set) this.#listeners.set(jobId, (set = new Set()));
    set.add(listener);
    this.#restartBackoff();
    void this.refresh();
    return () => {
      set.delete(listener);
      if (set.size > 0) return;
      this.#listeners.delete(jobId);
      this.#latest.delete(jobId);
      this.#misses.delete(jobId);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** The last statuses seen for a job. */
  latest(jobId: string): readonly JobStatus[] | undefined {
    return this.#latest.get(jobId);
  }

  /** Poll now (joining a poll already running, or running one more right after it); resolves when done. */
  refresh(): Promise<void> {
    if (this.#polling) {
      this.#again = true;
      return this.#polling.then(() => this.#polling ?? Promise.resolve());
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#polling = this.#poll().finally(() => {
      this.#polling = undefined;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      } else {
        this.#schedule();
      }
    });
    return this.#polling;
  }

  #restartBackoff(): void {
    const all = [...this.#listeners.values()].flatMap((set) => [...set]);
    const initialMs = Math.min(...all.map((l) => l.pollMs));
    const maxMs = Math.max(initialMs, Math.min(...all.map((l) => l.pollMaxMs)));
    this.#delays = backoffDelays({ initialMs, maxMs, factor: 1.5 });
  }

  #schedule(): void {
    if (this.#listeners.size === 0 || this.#timer || this.#polling) return;
    this.#delays ??= backoffDelays({ initialMs: 1_000, maxMs: 15_000, factor: 1.5 });
    // Unref'd: watching must not keep a finished program alive (its exit hook cancels the jobs).
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.refresh();
    }, this.#delays.next().value).unref();
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    const ids = [...this.#listeners.keys()];
    if (ids.length === 0) return;
    const argv = this.#driver.status.command(ids);
    let statuses: JobStatus[];
    try {
      const output = await this.#runner.run(this.#driver.name, argv);
      const raw = this.#driver.status.parse(output);
      if (!raw) throw new SchedulerError(`${argv[0]} could not report the jobs' status`, { ...output, scheduler: this.#driver.name, command: argv });
      statuses = raw.map((line) => classifyStatus(this.#driver, line));
    } catch (error) {
      for (const set of this.#listeners.values()) for (const listener of set) listener.onError?.(error as Error);
      return;
    }
    const byJob = new Map<string, JobStatus[]>();
    for (const status of statuses) byJob.set(status.jobId, [...(byJob.get(status.jobId) ?? []), status]);
    for (const id of ids) {
      const found = byJob.get(id);
      if (found) {
        this.#misses.delete(id);
        this.#latest.set(id, found);
      } else {
        // Missing: it ended long enough ago to be forgotten (or, once, a race with the submission).
        const misses = (this.#misses.get(id) ?? 0) + 1;
        this.#misses.set(id, misses);
        if (misses < MISSES_BEFORE_GONE) continue;
        this.#latest.set(id, [{ jobId: id, taskIndex: null, state: 'GONE', reason: `no longer known to ${this.#driver.name}`, kind: 'ended' }]);
      }
      for (const listener of this.#listeners.get(id) ?? []) listener.onStatus(this.#latest.get(id)!);
    }
    const signature = JSON.stringify([...this.#latest.entries()].map(([id, list]) => [id, list.map((s) => `${s.taskIndex}:${s.state}:${s.reason}`)]));
    if (signature !== this.#lastSignature) {
      this.#lastSignature = signature;
      this.#restartBackoff();
    }
  }
}
