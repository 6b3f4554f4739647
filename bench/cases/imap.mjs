// 1,000,000 tiny items through imap from a generator vs pmap over the same items in an array,
// on 2 workers: throughput ratio and the master's RSS growth while streaming. The two run in
// PAIRS interleaved pairs (alternating which goes first) and the median pair is reported, so a
// neighbour's burst of load moves one pair, not the figure. Both are warmed up first. RSS is
// sampled during the first imap run, before any million-item pmap has grown the heap. The
// master's CPU time per item is reported beside (informational): it moves less with the load.
import { Cluster, LocalManager } from '@cm/core';
import { percentile } from '../stats.mjs';

const ITEMS = 1_000_000;
const PAIRS = 5;
const MiB = 1024 * 1024;
/** What imap may hold: maxPending (65,536 by default) items and results; this bound leaves room for V8's heap slack. */
const RSS_BOUND_MIB = 64;

export async function imap() {
  const cluster = new Cluster();
  try {
    await cluster.addprocs(new LocalManager(2));
    const noop = (x) => x;
    await cluster.pmap(
      noop,
      Array.from({ length: 10_000 }, (_, i) => i),
    ); // warm up both workers, and both paths
    for await (const _ of cluster.imap(
      noop,
      Array.from({ length: 10_000 }, (_, i) => i),
    ));
    function* numbers() {
      for (let i = 0; i < ITEMS; i++) yield i;
    }
    const items = Array.from({ length: ITEMS }, (_, i) => i);

    global.gc?.();
    const base = process.memoryUsage.rss();
    let peak = base;
    const streamed = async (sampled) => {
      const sampler = sampled ? setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10) : undefined;
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      let count = 0;
      let sum = 0;
      for await (const value of cluster.imap(noop, numbers())) {
        count++;
        sum += value;
      }
      const rate = ITEMS / (Number(process.hrtime.bigint() - started) / 1e9);
      imapCpuNs.push(cpuNsPerItem(cpu));
      clearInterval(sampler);
      if (count !== ITEMS || sum !== (ITEMS * (ITEMS - 1)) / 2) throw new Error(`imap bench: got ${count} results summing to ${sum}`);
      return rate;
    };
    const mapped = async () => {
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      await cluster.pmap(noop, items);
      const rate = ITEMS / (Number(process.hrtime.bigint() - started) / 1e9);
      pmapCpuNs.push(cpuNsPerItem(cpu));
      return rate;
    };
    const imapCpuNs = [];
    const pmapCpuNs = [];
    const cpuNsPerItem = (since) => {
      const used = process.cpuUsage(since);
      return ((used.user + used.system) * 1000) / ITEMS;
    };
    const pairs = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      const pmapFirst = pair % 2 === 1 ? await mapped() : undefined;
      const imapRate = await streamed(pair === 0);
      const pmapRate = pmapFirst ?? (await mapped());
      pairs.push({ imapRate, pmapRate, ratio: imapRate / pmapRate });
    }
    const median = percentile(
      pairs.map((p) => p.ratio),
      50,
    );
    const { imapRate, pmapRate } = pairs.find((p) => p.ratio === median);
    const growth = (peak - base) / MiB;
    return [
      {
        what: 'streaming',
        measure: `imap ${ITEMS.toLocaleString('en')} no-ops from a generator (items/s) vs pmap on an array, median of ${PAIRS} interleaved pairs (${pairs.map((p) => `${p.ratio.toFixed(2)}x`).join(', ')})`,
        cm: imapRate,
        floor: pmapRate,
        ratio: median,
        target: '>= 0.8x pmap',
        pass: median >= 0.8,
      },
      {
        what: 'streaming',
        measure: `  master CPU per item (ns), imap vs pmap, medians of ${PAIRS}`,
        cm: percentile(imapCpuNs, 50),
        floor: percentile(pmapCpuNs, 50),
        ratio: percentile(imapCpuNs, 50) / percentile(pmapCpuNs, 50),
      },
      { what: 'streaming', measure: 'imap master RSS growth (MiB), maxPending 65,536', cm: growth, target: `<= ${RSS_BOUND_MIB} MiB`, pass: growth <= RSS_BOUND_MIB },
    ];
  } finally {
    await cluster.close();
  }
}
