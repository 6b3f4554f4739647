/**
 * Progress of a launch for people: a live line on a terminal
 * (`slurm job 123: PENDING (Resources) 2m13s - 0/8 workers joined`), plain lines when not on
 * one (written only when the state changes, not because time passed). Programs get the same
 * as typed events, with numbers (`joined`, `expected`, `elapsedMs`) instead of text.
 * @module
 */
import type { JobStatus } from './driver.js';

export { ProgressLine, type ProgressMode, type TimedText } from '../util/progress-line.js';

/**
 * One line about a submission: its state (and reason), or for an array how many tasks are in
 * each state, the time since it was submitted when given, and how many workers joined.
 * @example `slurm job 123 (array of 8): 3 RUNNING, 5 PENDING (Priority) 2m13s - 3/8 workers joined`
 */
export function describeProgress(
  scheduler: string,
  jobId: string,
  statuses: readonly JobStatus[] | undefined,
  workers: { joined: number; expected: number; tasks?: number | undefined },
  elapsed?: string,
): string {
  const head = workers.tasks && workers.tasks > 1 ? `${scheduler} job ${jobId} (array of ${workers.tasks})` : `${scheduler} job ${jobId}`;
  const tail = `${elapsed ? ` ${elapsed}` : ''} - ${workers.joined}/${workers.expected} workers joined`;
  // Every worker has dialled in, so the job runs, whatever the last poll (up to 15 s old) said.
  if (workers.joined >= workers.expected) return `${head}: running${tail}`;
  if (!statuses || statuses.length === 0) return `${head}: submitted${tail}`;
  if (statuses.length === 1 && statuses[0]!.taskIndex === null) return `${head}: ${stateText(statuses[0]!)}${tail}`;
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(stateText(status), (counts.get(stateText(status)) ?? 0) + 1);
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([text, n]) => `${n} ${text}`);
  return `${head}: ${parts.join(', ')}${tail}`;
}

function stateText(status: JobStatus): string {
  return status.reason ? `${status.state} (${status.reason})` : status.state;
}
