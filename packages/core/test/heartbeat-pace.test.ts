// The heartbeat pace (protocol 1.4): the master slows every worker's heartbeats as its cluster
// grows, tells them on its own Heartbeats, and still loses a hung worker within the pace's
// timeout; workers obey it, and workers of 1.3 keep the configured pace. Small intervals,
// and maxPerSecond set so that a handful of workers already counts as a large cluster.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { ClusterManager, LaunchContext } from '../src/driver.js';
import { LocalManager, WorkerLostError } from '../src/index.js';
import { FramedConnection } from '../src/protocol/connection.js';
import { FrameType } from '../src/protocol/frame.js';
import { HANDSHAKE_MAX_FRAME_BYTES, type Welcome, acceptWorker, joinMaster } from '../src/protocol/handshake.js';
import { type HeartbeatPace, decodeHeartbeatPace, encodeHeartbeatPace } from '../src/protocol/heartbeat-pace.js';
import { encodeMessage } from '../src/protocol/messages.js';
import { HEARTBEAT_PACE_MIN_MINOR, PROTOCOL_VERSION } from '../src/protocol/version.js';
import { WORKER_ENV } from '../src/worker/env.js';
import { alive, testCluster, waitFor } from './helpers.js';

const workerMain = fileURLToPath(new URL('../dist/worker/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A protocol client standing in for a worker of protocol 1.`minor`: records the Welcome and every Heartbeat payload the master sends. */
interface Client {
  readonly welcome: Welcome;
  readonly heartbeats: Buffer[];
  readonly conn: FramedConnection;
}

async function joinAs(context: LaunchContext, taskIndex: number, minor: number): Promise<Client> {
  const socket = net.connect(context.master.port, context.master.host);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
  const secret = Buffer.from(context.workerEnv[WORKER_ENV.secret]!, 'base64url');
  const identity = { launchId: context.launchId, taskIndex, jobId: null, host: hostname(), pid: process.pid, cpus: 1, nodeVersion: process.version, endsAt: null };
  const welcome = await joinMaster(conn, secret, identity, { timeoutMs: 10_000, version: { major: PROTOCOL_VERSION.major, minor } });
  const heartbeats: Buffer[] = [];
  conn.onFrame(({ type, payload }) => {
    if (type === FrameType.Heartbeat) heartbeats.push(payload);
    if (type === FrameType.Shutdown) conn.end();
  });
  // Faster than any pace here: the master never has a reason to lose this client.
  const beating = setInterval(() => conn.send(FrameType.Heartbeat), 20);
  conn.onClose(() => clearInterval(beating));
  return { welcome, heartbeats, conn };
}

describe('heartbeat pace', () => {
  it('the master tells workers of 1.4 a slower pace on its Heartbeats as the cluster grows; a worker of 1.3 keeps the configured one', async () => {
    // One heartbeat per interval allowed: the factor is the number of workers.
    const cluster = testCluster({ heartbeat: { intervalMs: 100, timeoutMs: 1_000, maxPerSecond: 10 } });
    const clients: Client[] = [];
    const minors = [PROTOCOL_VERSION.minor, HEARTBEAT_PACE_MIN_MINOR - 1, PROTOCOL_VERSION.minor];
    let joined: Promise<void> | undefined;
    const manager: ClusterManager = {
      name: 'clients',
      expectedWorkers: minors.length,
      launch(context) {
        // One after the other: each joins a cluster one worker larger.
        joined = (async () => {
          for (const [index, minor] of minors.entries()) clients.push(await joinAs(context, index, minor));
        })();
        return Promise.resolve();
      },
      async shutdown() {
        for (const client of clients) client.conn.destroy();
      },
    };
    await cluster.addprocs(manager);
    await joined;
    const [first, old, third] = clients as [Client, Client, Client];
    const pace = (welcome: Welcome): HeartbeatPace => ({ heartbeatMs: welcome.heartbeatMs, timeoutMs: welcome.timeoutMs });
    expect(pace(first.welcome)).toEqual({ heartbeatMs: 100, timeoutMs: 1_000 });
    expect(old.welcome.version.minor).toBe(HEARTBEAT_PACE_MIN_MINOR - 1);
    expect(pace(old.welcome)).toEqual({ heartbeatMs: 100, timeoutMs: 1_000 });
    expect(pace(third.welcome)).toEqual({ heartbeatMs: 300, timeoutMs: 3_000 });
    await waitFor(() => first.heartbeats.some((payload) => decodeHeartbeatPace(payload)?.heartbeatMs === 300), 10_000, 'the first worker to be told the pace of three');
    expect(first.heartbeats.map(decodeHeartbeatPace).at(-1)).toEqual({ heartbeatMs: 300, timeoutMs: 3_000 });
    await waitFor(() => old.heartbeats.length >= 2, 10_000, 'heartbeats to the worker of 1.3');
    expect(old.heartbeats.every((payload) => payload.length === 0)).toBe(true);
    expect(cluster.workers()).toHaveLength(3);
  });

  it('a worker obeys the pace the master sets: it heartbeats at it, and waits out its longer timeout', async () => {
    const secret = randomBytes(32);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<FramedConnection>((resolve) => server.once('connection', (socket) => resolve(new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES))));
    const env = {
      [WORKER_ENV.masterHost]: '127.0.0.1',
      [WORKER_ENV.masterPort]: String((server.address() as net.AddressInfo).port),
      [WORKER_ENV.secret]: secret.toString('base64url'),
      [WORKER_ENV.launchId]: 'L1',
    };
    const worker = execa(process.execPath, [workerMain], { env, reject: false, stdin: 'ignore' });
    try {
      const conn = await accepted;
      await acceptWorker(conn, secret, () => ({ admit: true, workerId: 2, heartbeatMs: 50, timeoutMs: 400, maxFrameBytes: 1 << 20 }), { timeoutMs: 10_000 });
      conn.maxFrameBytes = 1 << 20;
      let heartbeats = 0;
      conn.onFrame(({ type }) => {
        if (type === FrameType.Heartbeat) heartbeats++;
      });
      await waitFor(() => heartbeats >= 3, 10_000, 'heartbeats at the pace of the Welcome');
      conn.send(FrameType.Heartbeat, encodeHeartbeatPace({ heartbeatMs: 60_000, timeoutMs: 600_000 }));
      const told = heartbeats;
      // Silence from the master past what the Welcome's pace allows even the worker's watchdog
      // thread (timeout + interval + 2 s): at that pace the worker would have sent some 60
      // heartbeats, left after 400 ms, and been killed by its watchdog after 2.45 s.
      await sleep(3_000);
      // One heartbeat may have been on its way as the pace went out.
      expect(heartbeats - told).toBeLessThanOrEqual(1);
      expect(conn.closed).toBe(false);
      conn.send(FrameType.Shutdown, encodeMessage({ reason: 'test done' }));
      expect((await worker).exitCode).toBe(0);
    } finally {
      worker.kill('SIGKILL');
      server.close();
    }
  });

  it('a hung worker is lost after the timeout of the pace it was given, and the others stay', async () => {
    // 0.5 heartbeats per interval allowed: the factor is twice the number of workers.
    const cluster = testCluster({ heartbeat: { intervalMs: 50, timeoutMs: 400, maxPerSecond: 10 } });
    const [steady] = await cluster.addprocs(new LocalManager(1));
    // Joining a cluster of one, its Welcome gives it the pace of two workers: 200 ms, 1,600 ms.
    const [hung] = await cluster.addprocs(new LocalManager(1));
    const pid = cluster.worker(hung!).pid;
    const call = cluster.remotecallFetch(hung!, () => new Promise(() => {}));
    process.kill(pid, 'SIGSTOP');
    const error = (await call.catch((e: unknown) => e)) as WorkerLostError;
    expect(error).toBeInstanceOf(WorkerLostError);
    expect(error.reason).toBe('heartbeat-timeout');
    expect(error.message).toMatch(/no heartbeat for 1600 ms/);
    await waitFor(() => !alive(pid), 5_000, 'the hung worker to be killed');
    // The pace of one worker again (a shorter timeout): the steady worker is not lost over it.
    await sleep(1_000);
    expect(cluster.workers()).toEqual([steady]);
    expect(await cluster.remotecallFetch(steady!, () => 'still here')).toBe('still here');
  });
});
