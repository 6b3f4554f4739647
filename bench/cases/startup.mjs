// addprocs of 2 and of 8 local workers until all have joined, vs starting as many `node -e 0`.
import { Cluster, LocalManager } from '@cm/core';
import { nodeStart } from '../floor.mjs';
import { medianOf } from '../stats.mjs';

const RUNS = 5;

export async function startup() {
  const rows = [];
  await nodeStart(1);
  for (const n of [2, 8]) {
    const floor = await medianOf(RUNS, () => nodeStart(n));
    const cm = await medianOf(RUNS, async () => {
      const cluster = new Cluster();
      await cluster.listen(); // listening is part of the master's start, not of addprocs
      const started = process.hrtime.bigint();
      await cluster.addprocs(new LocalManager(n));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await cluster.close();
      return seconds;
    });
    rows.push({ what: 'start-up', measure: `addprocs ${n} local workers (s)`, cm, floor, ratio: cm / floor, target: n === 2 ? '<= 0.5 s' : '', pass: n === 2 ? cm <= 0.5 : undefined });
  }
  return rows;
}
