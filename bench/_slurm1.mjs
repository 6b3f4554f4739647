import { Cluster } from '@cm/core';
import { SlurmManager } from '@cm/slurm';
const cluster = new Cluster({ onOutput: () => {} });
const t = performance.now();
await cluster.addprocs(new SlurmManager(4, { partition: 'debug', time: '00:05:00' }));
console.error('addprocs', (performance.now() - t).toFixed(0));
await cluster.close();
