/**
 * Loads the master holds and worker faults it survives (issue 8's suite): 1,000 concurrent
 * 1 MiB calls with master memory bounded, a 1,000,000-item pmap, SIGKILL and SIGSTOP of a
 * worker in the middle of a 10,000-item pmap (each result exactly once), and the payload
 * bytes on the wire: absent with encrypt: true, present without (a TCP proxy records them).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { LocalManager } from '../../src/index.js';
import { alive, testCluster, waitFor } from '../helpers.js';

const MiB = 1024 * 1024;
/** Master RSS growth allowed for 1,000 concurrent 1 MiB calls (measured ~15–30 MB; 1.1 GB over TLS before backpressure). */
const LOAD_RSS_BOUND_BYTES = 300 * MiB;

describe('load', () => {
  it.each([false, true])(
    '1,000 concurrent 1 MiB calls (encrypt: %s): all correct, master memory bounded',
    async (encrypt) => {
      const cluster = testCluster({ encrypt });
      const ids = await cluster.addprocs(new LocalManager(2));
      const payload = new Uint8Array(MiB).fill(1);
      const base = process.memoryUsage.rss();
      let peak = base;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
      try {
        const sums = await Promise.all(Array.from({ length: 1_000 }, (_, i) => cluster.remotecallFetch(ids[i % 2]!, (b: Uint8Array) => b.length + b[0]!, payload)));
        expect(sums.every((s) => s === MiB + 1)).toBe(true);
      } finally {
        clearInterval(sampler);
      }
      expect(peak - base).toBeLessThan(LOAD_RSS_BOUND_BYTES);
    },
    120_000,
  );

  it('a 1,000,000-item pmap: every result, in order', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const items = Array.from({ length: 1_000_000 }, (_, i) => i);
    const results = await cluster.pmap((x: number) => x * 2 + 1, items);
    expect(results).toHaveLength(1_000_000);
    expect(results.every((r, i) => r === i * 2 + 1)).toBe(true);
  }, 120_000);
});

describe('worker faults mid-pmap of 10,000 items', () => {
  it.each(['SIGKILL', 'SIGSTOP'] as const)(
    '%s of one of three workers: each result exactly once; a stopped worker is detected and killed',
    async (signal) => {
      const cluster = testCluster({ heartbeat: { intervalMs: 100, timeoutMs: 1_000 } });
      const [victim] = await cluster.addprocs(new LocalManager(3));
      const pid = cluster.worker(victim!).pid;
      const items = Array.from({ length: 10_000 }, (_, i) => i);
      const mapping = cluster.pmap(async (x: number) => {
        await new Promise((resolve) => setTimeout(resolve, 0));
        return { x, pid: process.pid };
      }, items);
      await waitFor(() => cluster.workers().length === 3, 1_000, 'three workers');
      await new Promise((resolve) => setTimeout(resolve, 150));
      process.kill(pid, signal);
      const results = await mapping;
      expect(results.map((r) => r.x)).toEqual(items);
      expect(cluster.workers()).not.toContain(victim);
      await waitFor(() => !alive(pid), 3_000, 'the faulty worker process to be gone');
    },
    60_000,
  );
});

/** A loopback TCP proxy between workers and master that keeps every byte it forwards. */
async function recordingProxy(target: number): Promise<{ port: number; recorded: () => Buffer; close: () => void }> {
  const chunks: Buffer[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, '127.0.0.1');
    sockets.push(inbound, outbound);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      from.on('data', (d: Buffer) => {
        chunks.push(Buffer.from(d));
        to.write(d);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    recorded: () => Buffer.concat(chunks),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('encryption on the wire', () => {
  it.each([
    [false, true],
    [true, false],
  ])('encrypt: %s — payload bytes visible on the wire: %s', async (encrypt, visible) => {
    const cluster = testCluster({ encrypt });
    const master = await cluster.listen();
    const proxy = await recordingProxy(master.port);
    try {
      // Workers dial the proxy: a manager that starts them with the proxy's port.
      const local = new LocalManager(1);
      const ids = await cluster.addprocs({
        name: 'proxied',
        expectedWorkers: 1,
        launch: (context) => local.launch({ ...context, workerEnv: { ...context.workerEnv, CM_MASTER_PORT: String(proxy.port) } }),
        shutdown: (reason, launchId) => local.shutdown(reason, launchId),
        kill: (worker) => local.kill(worker),
      });
      const marker = 'PAYLOAD-MARKER-7c1f9e-plaintext';
      expect(await cluster.remotecallFetch(ids[0]!, (s: string) => `${s}|${s.length}`, marker)).toBe(`${marker}|${marker.length}`);
      expect(proxy.recorded().includes(marker)).toBe(visible);
    } finally {
      proxy.close();
    }
  });
});
