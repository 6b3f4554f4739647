import { Cluster, LocalManager } from '@cm/core';
const cluster = new Cluster();
const nodeArgs = process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
const [id] = await cluster.addprocs(new LocalManager({ np: 1, nodeArgs }));
const noop = () => undefined;
for (let r = 0; r < 3; r++) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < 5000; i++) await cluster.remotecallFetch(id, noop);
  console.log('mean µs', Number(process.hrtime.bigint() - t) / 1e3 / 5000);
}
await cluster.close();
