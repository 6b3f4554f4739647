// One master process for the scale benchmark: registers N simulated workers, measures, prints JSON.
import { execa } from 'execa';
import { Cluster } from '@cm/core';
import { heartbeatPace } from '../../packages/core/dist/cluster/liveness.js';

const n = Number(process.argv[2]);
const here = new URL('.', import.meta.url).pathname;
/** The defaults, spelled out so the pace they give N workers is known here. */
const HEARTBEAT = { intervalMs: 5_000, timeoutMs: 30_000, maxPerSecond: 1_000 };
/**
 * Heartbeat CPU is measured once every worker has the pace of the full cluster (the early ones
 * get it on the master's next Heartbeat, within their old interval), over two intervals of it:
 * each worker's and the master's heartbeats come once per interval whatever their phase.
 */
const pace = heartbeatPace(n, HEARTBEAT);
const SETTLE_MS = Math.max(1_000, pace.heartbeatMs);
const HEARTBEAT_WINDOW_MS = Math.max(10_000, 2 * pace.heartbeatMs);

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
    this.joined = new Promise((resolve) => {
      let text = '';
      this.child.stdout.on('data', (chunk) => {
        text += chunk;
        const line = /joined (\d+) cpu ([\d.]+)/.exec(text);
        if (line) resolve(Number(line[2]));
      });
    });
  }
  async shutdown() {
    this.child?.stdin.end();
    await this.child;
  }
}

const cluster = new Cluster({ heartbeat: HEARTBEAT });
await cluster.listen();
global.gc();
const before = process.memoryUsage();
const started = process.hrtime.bigint();
const registerCpu = process.cpuUsage();
const simulated = new SimulatedWorkers(n);
await cluster.addprocs(simulated, { timeoutMs: 120_000 });
const registerSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const { user, system } = process.cpuUsage(registerCpu);
const registerCpuSeconds = (user + system) / 1e6;
const simulatorCpuSeconds = await simulated.joined;

// Let the handshakes' garbage go and the pace settle before counting memory and CPU.
await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
global.gc();
const after = process.memoryUsage();
const cpuBefore = process.cpuUsage();
await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_WINDOW_MS));
const cpu = process.cpuUsage(cpuBefore);
const heartbeatCpuPercent = ((cpu.user + cpu.system) / 1000 / HEARTBEAT_WINDOW_MS) * 100;
if (cluster.nworkers() !== n) throw new Error(`only ${cluster.nworkers()} of ${n} simulated workers stayed`);
const bytesPerWorker = Math.max(after.rss - before.rss, after.heapUsed + after.external - before.heapUsed - before.external) / n;
await cluster.close();
process.stdout.write(
  `${JSON.stringify({ n, registerSeconds, registerCpuSeconds, bytesPerWorker, heartbeatCpuPercent, simulatorCpuSeconds, heartbeatSeconds: pace.heartbeatMs / 1000, timeoutSeconds: pace.timeoutMs / 1000 })}\n`,
);
