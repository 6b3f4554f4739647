import { Cluster, LocalManager } from '@cm/core';
const cluster = new Cluster();
const nodeArgs = process.env.WPROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof/w'] : [];
const ids = await cluster.addprocs(new LocalManager({ np: 2, nodeArgs }));
const items = Array.from({ length: 100000 }, (_, i) => i);
const noop = (x) => x;
await cluster.pmap(noop, items.slice(0, 10000));
for (let r = 0; r < Number(process.env.REPS ?? 1); r++) {
const t = process.hrtime.bigint();
await cluster.pmap(noop, items, { batchSize: process.env.BS === 'auto' ? 'auto' : 1 });
console.log('items/s', Math.round(100000 / (Number(process.hrtime.bigint() - t) / 1e9)));
}
if (process.env.WPROF) { for (const id of ids) await cluster.remotecallFetch(id, () => { setTimeout(() => process.exit(0), 50); }); await new Promise(r => setTimeout(r, 1500)); }
await cluster.close();
