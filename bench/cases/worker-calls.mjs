// Calls made by workers (issue 17), each beside what the master does itself in the same run:
// - a no-op remotecallFetch from worker 2 to worker 3, routed through the master, vs the
//   master's own round trip to worker 3 (target: routed <= 2.2x the master's);
// - the same call sent directly (a second cluster with topology 'all_to_all') vs routed
//   (target: direct below routed);
// - the sum of 1,000,000 numbers reduced on the workers in a tree (pmaps made from inside
//   pmap items) vs a flat pmap of slices whose partial sums the master adds up: once with the
//   numbers sent from the master (each level of the tree sends its halves on), once with them
//   already on every worker (only ranges travel). Informational: no target.
import { Cluster, LocalManager, moduleFunction } from '@cm/core';
import { percentile } from '../stats.mjs';

const COUNT = 5_000;
const WARMUP = 500;
const NUMBERS = 1_000_000;
const RUNS = 5;

/** Runs on a worker: time `count` no-op calls to `target` (globals on workers: remotecallFetch). */
const routedRoundTrips = async (target, count, warmup) => {
  const noop = () => undefined;
  const times = [];
  for (let i = 0; i < warmup + count; i++) {
    const started = process.hrtime.bigint();
    // eslint-disable-next-line no-undef -- a global on workers
    await remotecallFetch(target, noop);
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
};

/** Runs on a worker: where `id` listens, once this worker has been told (undefined before). */
const addressOf = (id) => globalThis[Symbol.for('@cm/core.peerClient')].direct?.addressOf(id);

/** A cluster whose workers call each other directly, once the caller knows where the target listens. */
async function directPair() {
  const cluster = new Cluster({ topology: 'all_to_all' });
  const [caller, target] = await cluster.addprocs(new LocalManager(2));
  for (let attempt = 0; !(await cluster.remotecallFetch(caller, addressOf, target)); attempt++) {
    if (attempt === 400) throw new Error(`worker ${caller} was not told where worker ${target} listens`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { cluster, caller, target };
}

export async function workerCalls() {
  const cluster = new Cluster();
  const direct = await directPair();
  try {
    const [caller, target] = await cluster.addprocs(new LocalManager(2));
    const rows = [];

    // Interleaved, so both see the same load on a shared machine.
    const master = [];
    const routed = [];
    const directly = [];
    const noop = () => undefined;
    for (let round = 0; round < 2; round++) {
      directly.push(...(await direct.cluster.remotecallFetch(direct.caller, routedRoundTrips, direct.target, COUNT / 2, WARMUP)));
      for (let i = 0; i < WARMUP + COUNT / 2; i++) {
        const started = process.hrtime.bigint();
        await cluster.remotecallFetch(target, noop);
        if (i >= WARMUP) master.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      routed.push(...(await cluster.remotecallFetch(caller, routedRoundTrips, target, COUNT / 2, WARMUP)));
    }
    for (const p of [50, 99]) {
      const cm = percentile(routed, p) * 1000;
      const floor = percentile(master, p) * 1000;
      rows.push({
        what: 'worker calls',
        measure: `worker→worker round trip p${p}, routed (µs) vs master→worker`,
        cm,
        floor,
        ratio: cm / floor,
        target: p === 50 ? '<= 2.2x master' : '',
        pass: p === 50 ? cm / floor <= 2.2 : undefined,
      });
    }
    for (const p of [50, 99]) {
      const cm = percentile(directly, p) * 1000;
      const floor = percentile(routed, p) * 1000;
      rows.push({
        what: 'worker calls',
        measure: `worker→worker round trip p${p}, direct ('all_to_all', µs) vs routed`,
        cm,
        floor,
        ratio: cm / floor,
        target: p === 50 ? '< routed' : '',
        pass: p === 50 ? cm < floor : undefined,
      });
    }

    const numbers = new Float64Array(NUMBERS);
    for (let i = 0; i < NUMBERS; i++) numbers[i] = (i % 1000) / 8;
    let expected = 0;
    for (let i = 0; i < NUMBERS; i++) expected += numbers[i];
    const tasks = new URL('./tree-tasks.mjs', import.meta.url);
    const sumSlice = moduleFunction(tasks, 'sumSlice');
    const treeSum = moduleFunction(tasks, 'treeSum');
    const slices = 16;
    const size = NUMBERS / slices;
    const leaf = NUMBERS / 8;
    const flat = async () => {
      const partials = await cluster.pmap(
        sumSlice,
        Array.from({ length: slices }, (_, i) => numbers.subarray(i * size, (i + 1) * size)),
        { batchSize: 1 },
      );
      return partials.reduce((a, b) => a + b, 0);
    };
    const tree = () => cluster.remotecallFetch(caller, treeSum, { numbers, leaf });
    await cluster.everywhere(moduleFunction(tasks, 'keepNumbers'), numbers);
    const sumRange = moduleFunction(tasks, 'sumRange');
    const treeSumRange = moduleFunction(tasks, 'treeSumRange');
    const flatHeld = async () => {
      const partials = await cluster.pmap(
        sumRange,
        Array.from({ length: slices }, (_, i) => ({ start: i * size, end: (i + 1) * size })),
        { batchSize: 1 },
      );
      return partials.reduce((a, b) => a + b, 0);
    };
    const treeHeld = () => cluster.remotecallFetch(caller, treeSumRange, { start: 0, end: NUMBERS, leaf });
    const timings = { flat: [], tree: [], flatHeld: [], treeHeld: [] };
    for (let run = 0; run < RUNS + 1; run++) {
      for (const [name, reduce] of Object.entries({ flat, tree, flatHeld, treeHeld })) {
        const started = process.hrtime.bigint();
        const sum = await reduce();
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (Math.abs(sum - expected) > 1e-6 * expected) throw new Error(`${name} reduction summed to ${sum}, expected ${expected}`);
        if (run > 0) timings[name].push(ms); // the first run warms up imports and allocations
      }
    }
    for (const [tree, flat, where] of [
      ['tree', 'flat', 'sent from the master'],
      ['treeHeld', 'flatHeld', 'already on every worker'],
    ]) {
      const treeMs = percentile(timings[tree], 50);
      const flatMs = percentile(timings[flat], 50);
      rows.push({
        what: 'worker calls',
        measure: `sum of ${NUMBERS.toLocaleString('en')} numbers ${where}: tree of pmaps on workers (ms) vs flat pmap reduced on the master`,
        cm: treeMs,
        floor: flatMs,
        ratio: treeMs / flatMs,
        target: '',
        pass: undefined,
      });
    }
    return rows;
  } finally {
    await direct.cluster.close();
    await cluster.close();
  }
}
