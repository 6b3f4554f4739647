// 1,000,000 tiny items through imap from a generator vs pmap over the same items in an array,
// on 2 workers: throughput ratio and the master's RSS growth while streaming.
import { Cluster, LocalManager } from '@cm/core';

const ITEMS = 1_000_000;
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
    ); // warm up both workers
    function* numbers() {
      for (let i = 0; i < ITEMS; i++) yield i;
    }

    global.gc?.();
    const base = process.memoryUsage.rss();
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    let started = process.hrtime.bigint();
    let count = 0;
    let sum = 0;
    for await (const value of cluster.imap(noop, numbers())) {
      count++;
      sum += value;
    }
    const imapRate = ITEMS / (Number(process.hrtime.bigint() - started) / 1e9);
    clearInterval(sampler);
    if (count !== ITEMS || sum !== (ITEMS * (ITEMS - 1)) / 2) throw new Error(`imap bench: got ${count} results summing to ${sum}`);

    const items = Array.from({ length: ITEMS }, (_, i) => i);
    started = process.hrtime.bigint();
    await cluster.pmap(noop, items);
    const pmapRate = ITEMS / (Number(process.hrtime.bigint() - started) / 1e9);
    const growth = (peak - base) / MiB;
    return [
      {
        what: 'streaming',
        measure: `imap ${ITEMS.toLocaleString('en')} no-ops from a generator (items/s) vs pmap on an array`,
        cm: imapRate,
        floor: pmapRate,
        ratio: imapRate / pmapRate,
        target: '>= 0.8x pmap',
        pass: imapRate >= 0.8 * pmapRate,
      },
      { what: 'streaming', measure: 'imap master RSS growth (MiB), maxPending 65,536', cm: growth, target: `<= ${RSS_BOUND_MIB} MiB`, pass: growth <= RSS_BOUND_MIB },
    ];
  } finally {
    await cluster.close();
  }
}
