// One master process for the scale benchmark: registers N simulated workers, measures, prints JSON.
import { execa } from 'execa';
import { Cluster } from '@cm/core';

const n = Number(process.argv[2]);
const here = new URL('.', import.meta.url).pathname;
const HEARTBEAT_WINDOW_MS = 10_000;

/** A manager whose "workers" are N protocol clients in one child process. */
class SimulatedWorkers {
  name = 'simulated';
  child;
  constructor(expectedWorkers) {
    this.expectedWorkers = expectedWorkers;
  }
  async launch(context) {
    this.child = execa(process.execPath, [`${here}../simulated-workers.mjs`, String(this.expectedWorkers)], {
      env: context.workerEnv,
      stdin: 'pipe',
      reject: false,
    });
  }
  async shutdown() {
    this.child?.stdin.end();
    await this.child;
  }
}

const cluster = new Cluster();
await cluster.listen();
global.gc();
const before = process.memoryUsage();
const started = process.hrtime.bigint();
const registerCpu = process.cpuUsage();
await cluster.addprocs(new SimulatedWorkers(n), { timeoutMs: 120_000 });
const registerSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const { user, system } = process.cpuUsage(registerCpu);
const registerCpuSeconds = (user + system) / 1e6;

// Let the handshakes' garbage go before counting memory and CPU.
await new Promise((resolve) => setTimeout(resolve, 1_000));
global.gc();
const after = process.memoryUsage();
const cpuBefore = process.cpuUsage();
await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_WINDOW_MS));
const cpu = process.cpuUsage(cpuBefore);
const heartbeatCpuPercent = ((cpu.user + cpu.system) / 1000 / HEARTBEAT_WINDOW_MS) * 100;
if (cluster.nworkers() !== n) throw new Error(`only ${cluster.nworkers()} of ${n} simulated workers stayed`);
const bytesPerWorker = Math.max(after.rss - before.rss, after.heapUsed + after.external - before.heapUsed - before.external) / n;
await cluster.close();
process.stdout.write(`${JSON.stringify({ n, registerSeconds, registerCpuSeconds, bytesPerWorker, heartbeatCpuPercent })}\n`);
