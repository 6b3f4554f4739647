// 100,000 no-op items through pmap on 2 workers vs raw pipelined TCP messages.
import { Cluster, LocalManager } from '@cm/core';
import { rawPipelined, startEchoPeer } from '../floor.mjs';

const ITEMS = 100_000;

export async function smallTasks() {
  const peer = await startEchoPeer();
  const floor = await rawPipelined(peer.socket, { count: ITEMS, bytes: 16 });
  await peer.stop();

  const cluster = new Cluster();
  try {
    await cluster.addprocs(new LocalManager(2));
    const items = Array.from({ length: ITEMS }, (_, i) => i);
    const noop = (x) => x;
    // Warm up both workers on both paths (batches, and one-item calls), as a long-running master would be.
    await cluster.pmap(noop, items.slice(0, 10_000));
    await cluster.pmap(noop, items.slice(0, 10_000), { batchSize: 1 });
    const rows = [];
    for (const batchSize of ['auto', 1]) {
      const started = process.hrtime.bigint();
      await cluster.pmap(noop, items, { batchSize });
      const rate = ITEMS / (Number(process.hrtime.bigint() - started) / 1e9);
      rows.push({
        what: 'small tasks',
        measure: `pmap ${ITEMS.toLocaleString('en')} no-ops, batchSize ${batchSize} (items/s)`,
        cm: rate,
        floor,
        ratio: rate / floor,
        target: batchSize === 'auto' ? '>= 200,000/s' : '>= 150,000/s',
        pass: rate >= (batchSize === 'auto' ? 200_000 : 150_000),
      });
    }
    return rows;
  } finally {
    await cluster.close();
  }
}
