/**
 * Why a worker was lost: the Cluster asks its manager before it reports a lost worker, and a
 * scheduler often records a job's end (walltime, node failure, cancelled by an operator) a
 * moment after the worker's connection drops. This waits for that, briefly and bounded, so the
 * error says what ended the worker instead of only that its connection closed.
 * @module
 */
import type { WorkerConfig } from '../manager/types.js';
import { sleep } from '../util/backoff.js';
import { describeEnd, isEnded } from './driver.js';
import type { Submission } from './submission.js';
import type { JobWatcher } from './watcher.js';

/** Longest `explainLoss` waits for the scheduler to record why a job ended (the Cluster allows 1 s). */
export const EXPLAIN_WAIT_MS = 800;

/** How the job (or array task) that carried `worker` ended, once the scheduler says so; `undefined` if it does not within `EXPLAIN_WAIT_MS`. */
export async function explainJobEnd(scheduler: string, submission: Submission, worker: WorkerConfig, watcher: JobWatcher | undefined): Promise<string | undefined> {
  const deadline = Date.now() + EXPLAIN_WAIT_MS;
  for (;;) {
    // What the last poll said may already explain it (a scheduler that marks a job removed before killing it).
    const status = submission.statusOf(worker);
    if (status && isEnded(status.kind)) return describeEnd(scheduler, submission.unitOf(worker), status);
    if (submission.gone || Date.now() >= deadline) return undefined;
    await Promise.race([watcher?.refresh(), sleep(Math.max(0, deadline - Date.now()))]);
    const refreshed = submission.statusOf(worker);
    if (refreshed && isEnded(refreshed.kind)) return describeEnd(scheduler, submission.unitOf(worker), refreshed);
    await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
  }
}
