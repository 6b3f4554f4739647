import { Cluster, LocalManager } from '@cm/core';
const cluster = new Cluster();
const [id] = await cluster.addprocs(new LocalManager({ np: 1, nodeArgs: process.env.WPROF ? ["--cpu-prof","--cpu-prof-dir=/tmp/prof/w"] : [] }));
const noop = () => undefined;
const times=[];
for (let i = 0; i < 30000; i++) { const s=process.hrtime.bigint(); await cluster.remotecallFetch(id, noop); times.push(Number(process.hrtime.bigint()-s)/1e3);}
times.sort((a,b)=>a-b); console.log('p50', times[times.length>>1], 'p99', times[Math.floor(times.length*0.99)]);
if (process.env.WPROF) { await cluster.remotecallFetch(id, () => { setTimeout(() => process.exit(0), 50); }); await new Promise(r => setTimeout(r, 1000)); }
await cluster.close();
