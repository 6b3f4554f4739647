// `node bench/slurm-launch.mjs` (needs a running Slurm: `bash tooling/schedulers/slurm.sh up`):
// time addprocs of 4 Slurm workers (one job of tasks) and close(), 5 runs.
import { Cluster } from '@cm/core';
import { SlurmManager } from '@cm/slurm';
const up = [],
  down = [];
for (let i = 0; i < 5; i++) {
  const cluster = new Cluster({ onOutput: () => {} });
  let t = performance.now();
  await cluster.addprocs(new SlurmManager(4, { partition: 'debug', time: '00:05:00' }));
  up.push(performance.now() - t);
  t = performance.now();
  await cluster.close();
  down.push(performance.now() - t);
}
const med = (a) => [...a].sort((x, y) => x - y)[2].toFixed(0);
console.log(`addprocs 4 Slurm workers: median ${med(up)} ms; close (jobs cancelled): median ${med(down)} ms`);
