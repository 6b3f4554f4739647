/**
 * What one batch manager has live: the jobs it submitted, the commands it started and the
 * secret files of its launches. Kept apart from `JobQueueManager` because one rule binds them
 * together: nothing may be left queued or lying around — not after a failed launch, not after
 * `close`, not after the master is interrupted — so this ledger is where a worker's job is
 * found, queued workers no longer needed are cancelled, a launch is shut down, and the
 * interrupt handlers stay installed exactly while anything is live.
 * @module
 */
import type { WorkerConfig } from '../manager/types.js';
import type { JobCanceller } from './cancel.js';
import { onInterrupt } from './interrupt.js';
import type { ProcessLaunch } from './process-launch.js';
import type { CommandRunner } from './runner.js';
import type { Submission } from './submission.js';

/** The live jobs, commands and secret files of one manager. */
export class LiveJobs {
  readonly #scheduler: string;
  readonly #runner: CommandRunner;
  /** Cancels of queued jobs (a driver with a queue); `shutdown` waits for those under way. */
  readonly #canceller: JobCanceller | undefined;
  readonly #submissions = new Set<Submission>();
  readonly #launches = new Set<ProcessLaunch>();
  /** Secret files of live launches, by launch id. */
  readonly #secretFiles = new Map<string, string>();
  #untrap: (() => void) | undefined;
  #closed = false;

  constructor(scheduler: string, runner: CommandRunner, canceller: JobCanceller | undefined) {
    this.#scheduler = scheduler;
    this.#runner = runner;
    this.#canceller = canceller;
  }

  /** Every launch was shut down (`close`): the manager takes no more launches. */
  get closed(): boolean {
    return this.#closed;
  }

  addSubmission(submission: Submission): void {
    this.#submissions.add(submission);
    this.updateTrap();
  }

  addProcessLaunch(launch: ProcessLaunch): void {
    this.#launches.add(launch);
    void launch.exited.then(() => this.updateTrap());
    this.updateTrap();
  }

  addSecretFile(launchId: string, file: string): void {
    this.#secretFiles.set(launchId, file);
    this.updateTrap();
  }

  /** The job that carries this worker: the one that owns it, or the launch's only job. */
  submissionOf(worker: WorkerConfig): Submission | undefined {
    const ofLaunch = [...this.#submissions].filter((s) => s.context.launchId === worker.launchId);
    return ofLaunch.find((s) => s.owns(worker)) ?? (ofLaunch.length === 1 ? ofLaunch[0] : undefined);
  }

  processLaunchOf(worker: WorkerConfig): ProcessLaunch | undefined {
    return [...this.#launches].find((launch) => launch.launchId === worker.launchId);
  }

  /** Ids of the jobs that may still be queued or running. */
  jobIds(): string[] {
    return [...this.#submissions].filter((s) => !s.gone).map((s) => s.jobId);
  }

  /** What launch `launchId` still waits for: its jobs with their last state, or its commands. */
  describePending(launchId: string): string | undefined {
    const jobs = [...this.#submissions].filter((s) => s.context.launchId === launchId).map((s) => s.describe());
    if (jobs.length > 0) return jobs.join('; ');
    const launch = [...this.#launches].find((l) => l.launchId === launchId);
    return launch ? `${this.#scheduler} commands still running, no worker joined through them yet` : undefined;
  }

  /** The last worker of `unit` (a job or array task) left: make sure it does not linger in the queue. */
  cancelLeftover(submission: Submission, unit: string): void {
    const whole = unit === submission.jobId;
    this.#canceller!.cancel([unit]).then(
      () => whole && submission.markGone(),
      (error: Error) => submission.context.progress({ message: error.message }),
    );
  }

  /** Cancel up to `count` queued workers of launch `launchId`, newest jobs first; see `JobQueueManager.cancelPending`. */
  async cancelPending(launchId: string, count: number): Promise<number> {
    const submissions = [...this.#submissions].filter((s) => !s.gone && s.context.launchId === launchId && s.replaces === undefined).reverse();
    let cancelled = 0;
    for (const submission of submissions) {
      if (cancelled >= count) break;
      const taken = submission.withdrawQueued(count - cancelled);
      if (taken.workers === 0) continue;
      if (taken.whole) await this.cancel([submission]);
      else await this.#canceller!.cancel(taken.ids);
      cancelled += taken.workers;
      submission.context.progress({
        message: `${this.#scheduler}: cancelled ${taken.workers} queued worker(s) of job ${submission.jobId} (${taken.ids.join(', ')}): no longer needed`,
        jobIds: [submission.jobId],
      });
    }
    return cancelled;
  }

  /**
   * Cancel the jobs and stop the commands of launch `launchId`, or of every launch (then the
   * ledger is closed); resolves once every cancel under way has finished and the secret files
   * are removed.
   */
  async shutdown(launchId: string | undefined): Promise<void> {
    if (launchId === undefined) this.#closed = true;
    const ofLaunch = (id: string) => launchId === undefined || id === launchId;
    const live = [...this.#submissions].filter((s) => !s.gone && ofLaunch(s.context.launchId));
    const launches = [...this.#launches].filter((launch) => ofLaunch(launch.launchId));
    try {
      const results = await Promise.allSettled([this.cancel(live), ...launches.map((launch) => launch.stop())]);
      // Cancels an abort or a timeout already started: a failure must be reported, not lost.
      const earlier = [...this.#submissions].filter((s) => s.cancelled && ofLaunch(s.context.launchId));
      results.push(...(await Promise.allSettled(earlier.map((s) => s.cancelled!))));
      for (const submission of earlier) submission.cancelled = undefined;
      await this.#canceller?.settled();
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      const secrets = [...this.#secretFiles.entries()].filter(([id]) => ofLaunch(id));
      for (const [id] of secrets) this.#secretFiles.delete(id);
      await this.#runner.remove(secrets.map(([, file]) => file)).catch(() => undefined);
      this.updateTrap();
    }
  }

  /** Cancel these jobs with one command; each remembers the cancel so `shutdown` can report its failure. */
  async cancel(submissions: readonly Submission[]): Promise<void> {
    const live = submissions.filter((s) => !s.gone);
    if (live.length === 0) return;
    for (const submission of live) submission.markGone();
    const cancel = this.#canceller!.cancel(live.map((s) => s.jobId));
    for (const submission of live) submission.cancelled = cancel;
    await cancel;
  }

  /** Keep interrupt handlers installed exactly while there are jobs, commands or secret files that may be live. */
  updateTrap(): void {
    const live = [...this.#submissions].some((s) => !s.gone) || [...this.#launches].some((launch) => !launch.ended) || this.#secretFiles.size > 0;
    if (live && !this.#untrap) {
      this.#untrap = onInterrupt(() => this.#cancelAllSync());
    } else if (!live && this.#untrap) {
      this.#untrap();
      this.#untrap = undefined;
    }
  }

  #cancelAllSync(): void {
    for (const launch of this.#launches) launch.stopSync();
    this.#canceller?.cancelSync([...this.#submissions].filter((s) => !s.gone).map((s) => s.jobId));
    try {
      this.#runner.removeSync([...this.#secretFiles.values()]);
    } catch {
      // best effort
    }
    this.#untrap = undefined;
  }
}
