// 2,000 items with heavy-tailed (log-normal) durations on 2 workers: makespan vs the ideal,
// max(total work / workers, longest item), for batchSize auto and 1. Items block their worker
// (Atomics.wait) for their duration, so the figure is about scheduling, not CPU contention;
// a second ideal from the durations the items really took separates timer overshoot from
// scheduling, and the idle tail shows a straggler batch if there is one.
import { Cluster, LocalManager } from '@cm/core';

const ITEMS = 2_000;
const WORKERS = 2;
const MEDIAN_MS = 1.5;
/** ln(50) / 3.5: the largest of 2,000 draws (about 3.5 sigma) is about 50x the median. */
const SIGMA = Math.log(50) / 3.5;

/** Log-normal durations from a fixed seed, so every run maps the same items. */
function durations() {
  let seed = 0x2545f491;
  const uniform = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) + 0.5) / 2 ** 32;
  };
  return Array.from({ length: ITEMS }, () => {
    const normal = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    return MEDIAN_MS * Math.exp(SIGMA * normal);
  });
}

export async function uneven() {
  const cluster = new Cluster();
  try {
    await cluster.addprocs(new LocalManager(WORKERS));
    const work = (ms) => {
      const started = performance.now();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      return { pid: process.pid, endedAt: Date.now(), tookMs: performance.now() - started };
    };
    await cluster.pmap(work, [1, 1, 1, 1]); // define the function on both workers
    const items = durations();
    const total = items.reduce((a, b) => a + b, 0);
    const longest = Math.max(...items);
    const median = [...items].sort((a, b) => a - b)[ITEMS >> 1];
    const ideal = Math.max(total / WORKERS, longest);
    const rows = [];
    for (const batchSize of ['auto', 1]) {
      const started = process.hrtime.bigint();
      const startedAt = Date.now();
      const results = await cluster.pmap(work, items, { batchSize });
      const makespan = Number(process.hrtime.bigint() - started) / 1e6;
      // The tail: how long one worker sat idle at the end while the other finished (a straggler batch shows here).
      const lastByWorker = new Map();
      for (const { pid, endedAt } of results) lastByWorker.set(pid, Math.max(lastByWorker.get(pid) ?? 0, endedAt - startedAt));
      const ends = [...lastByWorker.values()];
      // The ideal from what the items really took (a wait overshoots its timeout on a loaded machine).
      const took = results.map((r) => r.tookMs);
      const tookIdeal = Math.max(took.reduce((a, b) => a + b, 0) / WORKERS, Math.max(...took));
      rows.push({
        what: 'uneven work',
        measure: `pmap ${ITEMS.toLocaleString('en')} log-normal items (longest ${Math.round(longest / median)}x median), batchSize ${batchSize}: makespan (ms) vs ideal`,
        cm: makespan,
        floor: ideal,
        ratio: makespan / ideal,
        target: batchSize === 'auto' ? '<= 1.1x ideal' : '',
        pass: batchSize === 'auto' ? makespan <= 1.1 * ideal : undefined,
      });
      rows.push({ what: 'uneven work', measure: `  batchSize ${batchSize}: makespan vs ideal from the items' measured durations`, cm: makespan, floor: tookIdeal, ratio: makespan / tookIdeal });
      rows.push({ what: 'uneven work', measure: `  batchSize ${batchSize}: one worker idle at the end (ms)`, cm: ends.length < WORKERS ? makespan : Math.max(...ends) - Math.min(...ends) });
    }
    return rows;
  } finally {
    await cluster.close();
  }
}
