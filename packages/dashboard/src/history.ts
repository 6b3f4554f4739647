/**
 * The charts' data: one point per sample interval (calls and pmap items per second, busy and
 * current workers), kept for the last minutes so a page opened later sees the recent past.
 * @module
 */
import type { ClusterSnapshot } from '@cm/core';

/** One chart point. `t` is Unix seconds (what uPlot's time axis takes). */
export interface Sample {
  t: number;
  callsPerSecond: number;
  itemsPerSecond: number;
  busy: number;
  workers: number;
}

export class History {
  readonly #keepMs: number;
  readonly #samples: Sample[] = [];
  #last: { at: number; callsDone: number; itemsDone: number } | undefined;

  constructor(keepMs: number) {
    this.#keepMs = keepMs;
  }

  add(snapshot: ClusterSnapshot): Sample {
    const { takenAt, totals, counts } = snapshot;
    const last = this.#last;
    const seconds = last ? Math.max(0.001, (takenAt - last.at) / 1000) : 1;
    const sample: Sample = {
      t: takenAt / 1000,
      callsPerSecond: last ? Math.max(0, totals.callsDone - last.callsDone) / seconds : 0,
      itemsPerSecond: last ? Math.max(0, totals.pmapItemsDone - last.itemsDone) / seconds : 0,
      busy: counts.busy,
      workers: counts.idle + counts.busy + counts.retiring,
    };
    this.#last = { at: takenAt, callsDone: totals.callsDone, itemsDone: totals.pmapItemsDone };
    this.#samples.push(sample);
    const oldest = (takenAt - this.#keepMs) / 1000;
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop]!.t < oldest) drop++;
    if (drop > 0) this.#samples.splice(0, drop);
    return sample;
  }

  all(): Sample[] {
    return [...this.#samples];
  }
}
