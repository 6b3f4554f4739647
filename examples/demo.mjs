// The README's demo: two local workers, `everywhere`, a `pmap`, and the workers' own output.
import { Cluster, LocalManager } from '@cm/core';

// Plain JavaScript on Node 20 has no `await using` yet (TypeScript compiles it): close in finally.
const cluster = new Cluster();
try {
  const ids = await cluster.addprocs(new LocalManager(2));
  console.log(`started workers ${ids.join(', ')}`);

  // Runs on every worker; each prints a line that the master shows as `From worker N: …`.
  await cluster.everywhere(async () => {
    const { myid } = await import('@cm/core');
    const os = await import('node:os');
    console.log(`hello from worker ${myid()} on ${os.hostname()}, pid ${process.pid}`);
  });

  const squares = await cluster.pmap(
    async (x) => {
      const { myid } = await import('@cm/core');
      return { x, square: x * x, worker: myid() };
    },
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  console.log('pmap result:', squares.map((r) => `${r.x}²=${r.square} (worker ${r.worker})`).join(', '));
} finally {
  await cluster.close();
}
