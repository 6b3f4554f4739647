/**
 * Progress of one `pmap` for people (`pmap 4,210/10,000 (42%) 12s, 4 workers`, a live line on
 * a terminal) and for programs (the cluster's `pmap-progress` event). Throttled: a map of a
 * million tiny items must not spend its time reporting.
 * @module
 */
import { formatElapsed } from '../util/debug.js';
import { ProgressLine, type ProgressMode } from '../util/progress-line.js';
import type { PmapProgress } from './options.js';

/** At most this often, except the last report. */
const REPORT_EVERY_MS = 100;

export class PmapProgressReporter {
  readonly #total: number;
  readonly #line: ProgressLine | undefined;
  readonly #emit: (progress: PmapProgress) => void;
  readonly #listening: () => boolean;
  readonly #startedAt = performance.now();
  #lastAt = -Infinity;
  #last: PmapProgress | undefined;

  constructor(total: number, mode: boolean | ProgressMode, emit: (progress: PmapProgress) => void, listening: () => boolean) {
    this.#total = total;
    const resolved: ProgressMode = mode === true ? 'auto' : mode === false ? 'none' : mode;
    this.#line = resolved === 'none' ? undefined : new ProgressLine(resolved);
    this.#emit = emit;
    this.#listening = listening;
  }

  /** Whether anyone will see a report (a line is shown, or the event has listeners). */
  get active(): boolean {
    return this.#line !== undefined || this.#listening();
  }

  update(done: number, workers: number): void {
    const now = performance.now();
    this.#last = { done, total: this.#total, elapsedMs: now - this.#startedAt, workers };
    if (done < this.#total && now - this.#lastAt < REPORT_EVERY_MS) return;
    this.#lastAt = now;
    this.#report(this.#last);
  }

  /** The map ended (or failed): report where it stopped, and leave the line. */
  finish(): void {
    if (this.#last && this.#lastAt !== -Infinity && this.#last.done !== this.#total) this.#report(this.#last);
    this.#line?.finish();
  }

  #report(progress: PmapProgress): void {
    this.#emit(progress);
    this.#line?.update(describePmapProgress(progress));
  }
}

/** `pmap 4,210/10,000 (42%) 12s, 4 workers` */
export function describePmapProgress({ done, total, elapsedMs, workers }: PmapProgress): string {
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  return `pmap ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${percent}%) ${formatElapsed(elapsedMs)}, ${workers} worker${workers === 1 ? '' : 's'}`;
}
