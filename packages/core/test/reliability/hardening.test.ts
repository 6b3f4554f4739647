/**
 * Issue 8, defects 6–8 (the core's part): TLS idle peers, workers stuck in user code outliving
 * their master, timer options over 2^31 − 1 ms, weak secrets, joins bound to their launch,
 * readable addresses and words in the rejection log, and a rate-limited log.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { type ClusterManager, type LaunchContext, LocalManager, UsageError, WORKER_ENV, workerEntryPath } from '../../src/index.js';
import { alive, quietLogger, testCluster, waitFor } from '../helpers.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** Start a cm-worker with `env` (plus the master's address), return its exit code and stderr. */
async function runWorker(env: Record<string, string>): Promise<{ exitCode: number | undefined; stderr: string }> {
  const result = await execa(process.execPath, [workerEntryPath()], { env, extendEnv: false, reject: false, timeout: 15_000 });
  return { exitCode: result.exitCode, stderr: String(result.stderr) };
}

describe('timer options over 2^31 - 1 ms (Node would clamp them to 1 ms)', () => {
  it.each([
    [{ shutdownGraceMs: 1e12 }, 'shutdownGraceMs'],
    [{ heartbeat: { intervalMs: 3e9, timeoutMs: 4e9 } }, 'heartbeat.intervalMs'],
    [{ heartbeat: { intervalMs: 1000, timeoutMs: 2 ** 31 } }, 'heartbeat.timeoutMs'],
  ])('Cluster(%j) is refused, naming %s', (options, field) => {
    expect(() => testCluster(options)).toThrow(UsageError);
    expect(() => testCluster(options)).toThrow(new RegExp(`\`${field.replace('.', '\\.')}\`: must be at most 2147483647 ms`));
  });

  it('addprocs timeoutMs over the limit is refused before anything starts', async () => {
    const cluster = testCluster();
    await expect(cluster.addprocs(new LocalManager(1), { timeoutMs: 2 ** 31 })).rejects.toThrow(/`timeoutMs`: must be at most 2147483647 ms/);
    expect(cluster.workers()).toEqual([]);
  });
});

describe('weak secrets', () => {
  it.each([
    [randomBytes(12).toString('base64url'), /CM_SECRET holds a 12-byte secret; a @cm secret has at least 32 random bytes/],
    [randomBytes(31).toString('base64url'), /CM_SECRET holds a 31-byte secret/],
    ['not a secret at all!', /CM_SECRET is not base64url/],
  ])('a worker given %s refuses it (exit 2) before dialling', async (secret, message) => {
    const cluster = testCluster();
    const { host, port } = await cluster.listen();
    const rejected: string[] = [];
    cluster.on('peer-rejected', ({ reason }) => rejected.push(reason));
    const { exitCode, stderr } = await runWorker({ [WORKER_ENV.masterHost]: host, [WORKER_ENV.masterPort]: String(port), [WORKER_ENV.launchId]: 'Lx', [WORKER_ENV.secret]: secret });
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toContain(secret);
    expect(rejected).toEqual([]); // it never connected
  });
});

/** A manager that starts only task 0 of its two workers itself and lets the test play the rest. */
class HalfLocal implements ClusterManager {
  readonly name = 'half-local';
  readonly expectedWorkers = 2;
  context: LaunchContext | undefined;
  readonly started: Array<ReturnType<typeof execa>> = [];
  launch(context: LaunchContext): Promise<void> {
    this.context = context;
    void this.start(0);
    return Promise.resolve();
  }
  start(taskIndex: number): ReturnType<typeof execa> {
    const env = { ...this.context!.workerEnv, [WORKER_ENV.taskIndex]: String(taskIndex) };
    const child = execa(this.context!.workerCommand.file, [...this.context!.workerCommand.args], { env, reject: false, timeout: 20_000 });
    this.started.push(child);
    return child;
  }
  async shutdown(): Promise<void> {
    for (const child of this.started) child.kill('SIGKILL');
    await Promise.all(this.started);
  }
}

describe('joins are bound to the launch that expects them', () => {
  it('a peer holding the secret cannot take a task that joined, nor one the launch never started', async () => {
    const logger = quietLogger();
    const cluster = testCluster({ logger });
    const manager = new HalfLocal();
    const rejected: string[] = [];
    cluster.on('peer-rejected', ({ reason }) => rejected.push(reason));
    const launching = cluster.addprocs(manager);
    await waitFor(() => cluster.workers().length === 1, 10_000, 'task 0 to join');
    const duplicate = await manager.start(0);
    const outOfRange = await manager.start(7);
    expect(duplicate.exitCode).toBe(3);
    expect(outOfRange.exitCode).toBe(3);
    expect(rejected).toEqual([
      expect.stringMatching(/refused worker: task 0 of launch L[0-9a-f]+ has already joined; a second worker claiming it is refused/),
      expect.stringMatching(/refused worker: launch L[0-9a-f]+ has tasks 0 to 1; a worker claiming task 7 was not started by it/),
    ]);
    void manager.start(1);
    expect(await launching).toHaveLength(2);
    expect(
      cluster
        .workers()
        .map((id) => cluster.worker(id).taskIndex)
        .sort(),
    ).toEqual([0, 1]);
  });
});

describe('the master port with encrypt: true', () => {
  it("an idle peer is dropped after the 10 s handshake timeout (not Node's 120 s TLS default), logged with its address", async () => {
    const logger = quietLogger();
    const cluster = testCluster({ encrypt: true, logger });
    const { port } = await cluster.listen();
    const idle = net.connect(port, '127.0.0.1');
    idle.on('error', () => {});
    const localPort = await new Promise<number>((resolve) => idle.on('connect', () => resolve(idle.localPort!)));
    let closed = false;
    idle.on('close', () => (closed = true));
    const elapsed = await waitFor(() => closed, 14_000, 'the master to drop an idle TLS peer');
    expect(elapsed).toBeGreaterThan(9_000);
    expect(logger.warnings).toEqual([
      `rejected connection from 127.0.0.1:${localPort}: TLS handshake failed: it did not complete the TLS handshake in time (an idle or very slow peer) [ERR_TLS_HANDSHAKE_TIMEOUT]`,
    ]);
  }, 20_000);

  it('TLS failures are logged in plain words with the real address, never ?:?', async () => {
    const logger = quietLogger();
    const cluster = testCluster({ encrypt: true, logger });
    const { port } = await cluster.listen();
    let rejections = 0;
    cluster.on('peer-rejected', () => rejections++);
    const plain = net.connect(port, '127.0.0.1', () => plain.write(Buffer.from('GET / HTTP/1.0\r\n\r\n')));
    plain.on('error', () => {});
    await new Promise((resolve) => plain.on('close', resolve));
    // A peer that resets in the middle of the handshake.
    const reset = net.connect(port, '127.0.0.1', () => {
      reset.write(Buffer.from([0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]));
      reset.resetAndDestroy();
    });
    reset.on('error', () => {});
    await waitFor(() => rejections === 2, 5_000, 'both peers to be rejected');
    expect(logger.warnings[0]).toMatch(
      /^rejected connection from 127\.0\.0\.1:\d+: TLS handshake failed: it does not speak TLS \(a plain-TCP worker\? start workers with CM_TLS=1 when the cluster encrypts\) \[ERR_SSL_HTTP_REQUEST\]$/,
    );
    await cluster.close(); // ends the burst: its summary is logged
    expect(logger.warnings.join('\n')).not.toContain('?:?');
    expect(logger.warnings[1]).toMatch(/^rejected 1 more connection within 2 s \(from 127\.0\.0\.1\): 1 × TLS handshake failed: /);
  });
});

describe('a worker whose user code never yields', () => {
  it.each([['plain'], ['encrypt']])(
    '%s: dies within 6 s of its master being SIGKILLed (its watchdog thread sees the connection close)',
    async (mode) => {
      const master = execa('node', [fixture('master-with-spinning-worker.mjs'), mode], { reject: false });
      try {
        const firstLine = new Promise<string>((resolve) => master.stdout.once('data', (d: Buffer) => resolve(d.toString())));
        const exited = master.then((r) => Promise.reject(new Error(`the master exited first: ${String(r.stderr)}`)));
        const pids = JSON.parse(await Promise.race([firstLine, exited])) as number[];
        expect(pids.every(alive)).toBe(true);
        master.kill('SIGKILL');
        await master;
        await waitFor(() => !pids.some(alive), 6_000, 'both workers (one spinning) to be gone');
      } finally {
        master.kill('SIGKILL');
      }
    },
    30_000,
  );
});
