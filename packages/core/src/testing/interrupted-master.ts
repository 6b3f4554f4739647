/**
 * A master for the conformance suite's interrupt test: it submits a launch that stays queued,
 * prints `JOBS <ids>` once the scheduler has the job, and waits to be interrupted.
 * Argument: JSON `{ module, exportName, np, options, clusterOptions }`.
 * @module
 */
import { Cluster } from '../index.js';

interface Spec {
  module: string;
  exportName: string;
  np: number;
  options: Record<string, unknown>;
  clusterOptions: Record<string, unknown>;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const loaded = (await import(spec.module)) as Record<string, new (np: number, options: Record<string, unknown>) => object>;
const Manager = loaded[spec.exportName];
if (!Manager) throw new Error(`${spec.module} has no export ${spec.exportName}`);
const cluster = new Cluster(spec.clusterOptions);
const manager = new Manager(spec.np, spec.options);
cluster.on('launch-progress', (progress) => {
  if (progress.jobIds?.length) process.stdout.write(`JOBS ${progress.jobIds.join(',')}\n`);
});
// Never resolves while the job is held; the test interrupts us.
await cluster.addprocs(manager as never, { timeoutMs: 600_000 });
