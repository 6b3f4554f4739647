import { Cluster, LocalManager } from '@cm/core';
const cluster = new Cluster();
const [id] = await cluster.addprocs(new LocalManager(1));
const data = new Float64Array(8 * 1024 * 1024).map((_, i) => i);
for (let i = 0; i < 4; i++) {
  const t = process.hrtime.bigint();
  await cluster.remotecallFetch(id, (x) => x, data);
  const t2 = process.hrtime.bigint();
  await cluster.remotecallFetch(id, (x) => x.length, data);
  const t3 = process.hrtime.bigint();
  console.log('roundtrip ms', Number(t2 - t) / 1e6, 'one-way ms', Number(t3 - t2) / 1e6);
}
await cluster.close();
