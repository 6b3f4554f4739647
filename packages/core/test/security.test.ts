import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LocalManager, PROTOCOL_VERSION, WORKER_ENV, workerEntryPath } from '../src/index.js';
import { encodeFrame, FrameType } from '../src/protocol/frame.js';
import { quietLogger, testCluster, waitFor } from './helpers.js';

/** Connect a raw TCP client to the master; resolves when the master closes it. */
function rawPeer(port: number, send: (socket: net.Socket) => void): Promise<{ received: Buffer; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => send(socket));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ received: Buffer.concat(chunks), closedAfterMs: Date.now() - started }));
    setTimeout(() => reject(new Error('the master kept a bad connection open for 5 s')), 5_000).unref();
  });
}

describe('the master port under hostile input', () => {
  it('a worker with the wrong secret is refused and logged; the cluster keeps working', async () => {
    const logger = quietLogger();
    const cluster = testCluster({ logger });
    const [id] = await cluster.addprocs(new LocalManager(1));
    const rejected: string[] = [];
    cluster.on('peer-rejected', ({ reason }) => rejected.push(reason));
    const { port, host } = await cluster.listen();
    const impostor = await execa(process.execPath, [workerEntryPath()], {
      env: { [WORKER_ENV.masterHost]: host, [WORKER_ENV.masterPort]: String(port), [WORKER_ENV.launchId]: 'Lwhatever', [WORKER_ENV.secret]: randomBytes(32).toString('base64url') },
      reject: false,
      timeout: 10_000,
    });
    expect(impostor.exitCode).toBe(3);
    expect(impostor.stderr).toMatch(/refused by peer: authentication failed/);
    expect(rejected).toEqual(['authentication failed: wrong secret']);
    expect(logger.warnings.some((w) => /rejected connection from 127\.0\.0\.1:\d+: authentication failed/.test(w))).toBe(true);
    expect(cluster.workers()).toEqual([id]);
    expect(await cluster.remotecallFetch(id!, () => 'still serving')).toBe('still serving');
  });

  it('random bytes close that one connection; the master keeps serving and admits new workers', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const { port } = await cluster.listen();
    for (let i = 0; i < 5; i++) {
      const { closedAfterMs } = await rawPeer(port, (s) => s.write(randomBytes(4096)));
      expect(closedAfterMs).toBeLessThan(5_000);
    }
    expect(await cluster.remotecallFetch(id!, () => 1 + 1)).toBe(2);
    expect(await cluster.addprocs(new LocalManager(1))).toHaveLength(1);
  });

  it('an oversized frame header closes the connection before its payload is read', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const { port } = await cluster.listen();
    const { received } = await rawPeer(port, (s) => s.write(Buffer.from([0x40, 0, 0, 0, FrameType.Auth])));
    // The master spoke first (Hello) and then hung up on us.
    expect(received[4]).toBe(FrameType.Hello);
    expect(await cluster.remotecallFetch(id!, () => 'ok')).toBe('ok');
  });

  it('a peer speaking another protocol major is told both versions', async () => {
    const cluster = testCluster();
    const { port } = await cluster.listen();
    const auth = { version: { major: 9, minor: 0 }, nonce: randomBytes(32).toString('base64'), proof: '', identity: {} };
    const { received } = await rawPeer(port, (s) => s.write(encodeFrame(FrameType.Auth, Buffer.from(JSON.stringify(auth)))));
    const helloLength = received.readUInt32BE(0);
    const refuse = received.subarray(4 + helloLength);
    expect(refuse[4]).toBe(FrameType.Refuse);
    expect(JSON.parse(refuse.subarray(5).toString()).reason).toContain(`master speaks ${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}, worker speaks 9.0`);
  });

  it('a peer that connects and says nothing is dropped after the handshake timeout, not kept forever', async () => {
    const cluster = testCluster();
    const { port } = await cluster.listen();
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    let closed = false;
    silent.on('close', () => (closed = true));
    await expect(waitFor(() => closed, 12_000, 'the master to drop a silent peer')).resolves.toBeGreaterThan(9_000);
  }, 20_000);

  it("the secret is on no command line and is gone from the worker's environment", async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const pid = cluster.worker(id!).pid;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    expect(cmdline).not.toMatch(/CM_SECRET|[A-Za-z0-9_-]{43}/);
    expect(await cluster.remotecallFetch(id!, () => process.env.CM_SECRET ?? 'absent')).toBe('absent');
  });
});
