/**
 * Progress of a launch for people: a live line on a terminal
 * (`slurm job 123: PENDING (Resources) - 0/8 workers joined`), plain lines when not on one
 * (written only when the text changes). Programs get the same as typed events.
 * @module
 */
import type { JobStatus } from './driver.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'none';

/** One line of progress on a stream, rewritten in place on a terminal. */
export class ProgressLine {
  readonly #mode: 'tty' | 'plain' | 'none';
  readonly #stream: NodeJS.WriteStream;
  #last = '';
  #open = false;

  constructor(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#mode = mode === 'auto' ? (stream.isTTY ? 'tty' : 'plain') : mode;
  }

  /** Show `text` (if it differs from what is shown). */
  update(text: string): void {
    if (this.#mode === 'none' || text === this.#last) return;
    this.#last = text;
    if (this.#mode === 'tty') {
      this.#stream.write(`\r\x1b[2K${text}`);
      this.#open = true;
    } else {
      this.#stream.write(`${text}\n`);
    }
  }

  /** Show a last `text` and leave the line (the next output starts below it). */
  finish(text?: string): void {
    if (text !== undefined) this.update(text);
    if (this.#open) this.#stream.write('\n');
    this.#open = false;
  }
}

/**
 * One line about a submission: its state (and reason), or for an array how many tasks are in
 * each state, and how many workers joined.
 * @example `slurm job 123 (array of 8): 3 RUNNING, 5 PENDING (Priority) - 3/8 workers joined`
 */
export function describeProgress(
  scheduler: string,
  jobId: string,
  statuses: readonly JobStatus[] | undefined,
  workers: { joined: number; expected: number; tasks?: number },
): string {
  const head = workers.tasks && workers.tasks > 1 ? `${scheduler} job ${jobId} (array of ${workers.tasks})` : `${scheduler} job ${jobId}`;
  const tail = ` - ${workers.joined}/${workers.expected} workers joined`;
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
