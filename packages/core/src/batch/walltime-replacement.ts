/**
 * Replacing jobs before their walltime (`replaceBeforeWalltime`): a scheduler kills a job when
 * its walltime is up, so a long-running cluster submits the same job again a little earlier and
 * the new workers join before the old ones go. Kept out of `JobQueueManager` because the option
 * has rules of its own (a queue to replace in, a walltime longer than the lead) and a timer per
 * job that must not fire once the job is gone or the manager closed.
 * @module
 */
import { UsageError } from '../errors.js';
import type { WorkerConfig } from '../manager/types.js';
import type { Submission } from './submission.js';

/** How long before the walltime a replacement is submitted when the option is just `true`. */
const DEFAULT_REPLACE_LEAD_MS = 600_000;

/**
 * The lead `replaceBeforeWalltime` asks for, in ms (`undefined`: no replacement).
 * @throws UsageError when the scheduler queues no jobs, or the walltime is unknown or not longer than the lead
 */
export function replacementLeadMs(scheduler: string, option: boolean | number, queuesJobs: boolean, walltimeSeconds: number | undefined): number | undefined {
  const lead = option === false ? undefined : option === true ? DEFAULT_REPLACE_LEAD_MS : option;
  if (lead !== undefined && !queuesJobs) {
    throw new UsageError(`${scheduler}: \`replaceBeforeWalltime\` replaces queued jobs, and ${scheduler} queues none; leave it out`, 'replaceBeforeWalltime');
  }
  if (lead !== undefined && (walltimeSeconds === undefined || lead >= walltimeSeconds * 1000)) {
    throw new UsageError(
      `${scheduler}: \`replaceBeforeWalltime\` (${lead} ms ahead) needs a walltime option longer than that${walltimeSeconds ? ` (it is ${walltimeSeconds} s)` : ''}`,
      'replaceBeforeWalltime',
    );
  }
  return lead;
}

/** What a replacement needs from its manager. */
export interface WalltimeReplacementInit {
  readonly scheduler: string;
  /** How long before a worker's walltime its replacement is submitted. */
  readonly leadMs: number;
  /** The manager was closed: submit no replacement any more. */
  closed(): boolean;
  /** Submit the same job script again, as a replacement for `submission`. */
  resubmit(submission: Submission): Promise<void>;
}

/** The replacement timers of one manager's jobs. */
export class WalltimeReplacement {
  readonly #init: WalltimeReplacementInit;

  constructor(init: WalltimeReplacementInit) {
    this.#init = init;
  }

  /** Submit the same job again shortly before the walltime of this worker's job ends (once per job). */
  schedule(submission: Submission, worker: WorkerConfig): void {
    if (worker.endsAt === null || submission.replacementTimer) return;
    const delay = Math.max(0, worker.endsAt - this.#init.leadMs - Date.now());
    submission.replacementTimer = setTimeout(() => {
      if (this.#init.closed() || submission.gone) return;
      this.#init.resubmit(submission).catch((error: Error) => {
        submission.context.progress({ message: `${this.#init.scheduler}: could not submit a replacement for job ${submission.jobId}: ${error.message}` });
      });
    }, delay).unref();
  }
}
