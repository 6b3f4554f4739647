// Direct connections between workers (topology: 'all_to_all', issue 17): calls between workers
// skip the master (its count of calls it sent the callee does not move), Futures are fetched
// directly, nested pmap still works, losses on either side, a worker's listener refuses what
// the master's refuses, and a listener that cannot be reached means the master routes.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type Cluster, type FutureRef, LocalManager } from '../src/index.js';
import { FramedConnection } from '../src/protocol/connection.js';
import { HANDSHAKE_MAX_FRAME_BYTES, joinPeer } from '../src/protocol/handshake.js';
import { connect } from '../src/protocol/transport.js';
import { testCluster, waitFor } from './helpers.js';

/** The worker globals inline functions use (vitest renames imported bindings; see worker-calls.test.ts). */
interface Api {
  myid(): number;
  remotecall(target: number, fn: (...args: any[]) => unknown, ...args: unknown[]): PromiseLike<unknown> & FutureRef;
  remotecallFetch(target: number, fn: (...args: any[]) => unknown, ...args: unknown[]): Promise<unknown>;
  pmap(fn: (item: any) => unknown, items: unknown[], options?: object): Promise<unknown[]>;
  fetchFuture(value: unknown): Promise<unknown>;
  currentSignal(): AbortSignal;
}
const master = globalThis as unknown as Record<string, unknown>;

/** Calls the master has sent worker `id` (its own, and those it forwarded for other workers). */
function callsSentTo(cluster: Cluster, id: number): number {
  return cluster.snapshot().workers.find((w) => w.id === id)!.callsDone;
}

/** Where worker `to` listens (`host:port`), once worker `from` has been told (polled, bounded). */
async function addressOf(cluster: Cluster, from: number, to: number): Promise<string> {
  const started = Date.now();
  for (let attempt = 0; attempt < 400 && Date.now() - started < 20_000; attempt++) {
    const address = await cluster.remotecallFetch(
      from,
      (id: number) => (globalThis as unknown as Record<symbol, { direct?: { addressOf(id: number): string | undefined } }>)[Symbol.for('@cm/core.peerClient')]!.direct?.addressOf(id),
      to,
    );
    if (address) return address;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`worker ${from} did not learn where worker ${to} listens within 20 s`);
}

/** Five calls from `a` to `b` and one that throws, all made on `a`. */
function callsBetween(cluster: Cluster, a: number, b: number): Promise<unknown> {
  return cluster.remotecallFetch(
    a,
    async (target: number) => {
      const { remotecallFetch } = globalThis as unknown as Api;
      const values: unknown[] = [];
      for (let i = 0; i < 5; i++) values.push(await remotecallFetch(target, (x: number) => x * 10 + (globalThis as unknown as Api).myid(), i));
      try {
        await remotecallFetch(target, () => {
          throw new RangeError('not here');
        });
      } catch (error) {
        return { values, failed: { name: (error as Error).name, remoteName: (error as { remoteName: string }).remoteName, workerId: (error as { workerId: number }).workerId } };
      }
      return { values };
    },
    b,
  );
}

describe("topology: 'all_to_all'", () => {
  it.each([
    { topology: 'all_to_all', encrypt: false, routed: 0 },
    { topology: 'all_to_all', encrypt: true, routed: 0 },
    { topology: 'master', encrypt: false, routed: 6 },
  ] as const)('topology $topology (encrypt $encrypt): calls between workers answer the same; the master forwards this many: $routed', async ({ topology, encrypt, routed }) => {
    const cluster = testCluster({ topology, encrypt });
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    if (topology === 'all_to_all') expect(await addressOf(cluster, a!, b!)).toMatch(/^127\.0\.0\.1:\d+$/);
    const before = callsSentTo(cluster, b!);
    expect(await callsBetween(cluster, a!, b!)).toEqual({ values: [0, 1, 2, 3, 4].map((i) => i * 10 + b!), failed: { name: 'RemoteError', remoteName: 'RangeError', workerId: b } });
    expect(callsSentTo(cluster, b!) - before).toBe(routed);
  });

  it('a Future made on worker 2 is fetched on worker 3 directly', async () => {
    const cluster = testCluster({ topology: 'all_to_all' });
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    await addressOf(cluster, a!, b!);
    await addressOf(cluster, b!, a!);
    const made = (await cluster.remotecallFetch(
      a!,
      (on: number) => {
        const future = (globalThis as unknown as Api).remotecall(on, (x: number) => x * x, 12);
        (globalThis as Record<string, unknown>).kept = future; // the owner holds it while referenced
        return { future };
      },
      b!,
    )) as { future: FutureRef };
    expect(made.future).toMatchObject({ workerId: b, futureOwner: a });
    const before = callsSentTo(cluster, a!);
    expect(await cluster.remotecallFetch(b!, (ref: FutureRef) => (globalThis as unknown as Api).fetchFuture(ref), made.future)).toBe(144);
    // b asked a for the value on their direct connection, not through the master.
    expect(callsSentTo(cluster, a!) - before).toBe(0);
  });

  it('a pmap of 4 items, each a pmap of 50, on 2 workers completes (pmap still runs on the master)', async () => {
    const cluster = testCluster({ topology: 'all_to_all' });
    await cluster.addprocs(new LocalManager(2));
    const sums = await cluster.pmap(
      async (n: number) => {
        const inner = await (globalThis as unknown as Api).pmap(
          (x: number) => x * 2,
          Array.from({ length: 50 }, (_, i) => i + n * 100),
        );
        return (inner as number[]).reduce((s, v) => s + v, 0);
      },
      [0, 1, 2, 3],
      { batchSize: 1 },
    );
    expect(sums).toEqual([0, 1, 2, 3].map((n) => Array.from({ length: 50 }, (_, i) => 2 * (i + n * 100)).reduce((s, v) => s + v, 0)));
  });

  it('a callee killed during a direct call fails it with WorkerLostError on the caller', async () => {
    const cluster = testCluster({ topology: 'all_to_all' });
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    await addressOf(cluster, a!, b!);
    delete master.directTargetStarted;
    const before = callsSentTo(cluster, b!);
    const outcome = cluster.remotecallFetch(
      a!,
      async (target: number) => {
        try {
          await (globalThis as unknown as Api).remotecallFetch(target, async () => {
            await (globalThis as unknown as Api).remotecallFetch(1, () => ((globalThis as Record<string, unknown>).directTargetStarted = true));
            return new Promise(() => {}); // never answers: the worker is killed first
          });
          return 'answered';
        } catch (error) {
          return { name: (error as Error).name, workerId: (error as { workerId?: number }).workerId, message: (error as Error).message };
        }
      },
      b!,
    );
    await waitFor(() => master.directTargetStarted === true, 20_000, 'the callee to start the call');
    expect(callsSentTo(cluster, b!) - before).toBe(0); // the call went directly
    process.kill(cluster.worker(b!).pid, 'SIGKILL');
    const error = (await outcome) as { name: string; workerId: number; message: string };
    expect(error).toMatchObject({ name: 'WorkerLostError', workerId: b });
    expect(error.message).toMatch(new RegExp(`worker ${b!} .*was lost`));
  });

  it('a caller killed during a direct call cancels it on the callee: its currentSignal() aborts', async () => {
    const cluster = testCluster({ topology: 'all_to_all' });
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    await addressOf(cluster, a!, b!);
    delete master.directCancelledBecause;
    delete master.directCalleeStarted;
    void cluster
      .remotecallFetch(
        a!,
        (target: number) =>
          (globalThis as unknown as Api).remotecallFetch(target, () => {
            const { currentSignal, remotecallFetch } = globalThis as unknown as Api;
            const signal = currentSignal();
            signal.addEventListener('abort', () => void remotecallFetch(1, (why: string) => ((globalThis as Record<string, unknown>).directCancelledBecause = why), (signal.reason as Error).message));
            void remotecallFetch(1, () => ((globalThis as Record<string, unknown>).directCalleeStarted = true));
            return new Promise(() => {});
          }),
        b!,
      )
      .catch(() => undefined);
    await waitFor(() => master.directCalleeStarted === true, 20_000, 'the callee to start');
    process.kill(cluster.worker(a!).pid, 'SIGKILL');
    await waitFor(() => typeof master.directCancelledBecause === 'string', 20_000, 'the callee to be cancelled');
    expect(master.directCancelledBecause).toMatch(new RegExp(`the caller, worker ${a!}, is gone`));
  });

  it("a worker's listener admits only holders of the cluster secret: a wrong secret is refused, random bytes are dropped", async () => {
    const secret = randomBytes(32);
    const cluster = testCluster({ topology: 'all_to_all', secret: secret.toString('base64url') });
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    const [host, port] = (await addressOf(cluster, a!, b!)).split(':') as [string, string];
    const handshake = async (key: Buffer, target: number) => {
      const conn = new FramedConnection(await connect(host, Number(port), { encrypt: false, secret: key }), HANDSHAKE_MAX_FRAME_BYTES);
      try {
        return await joinPeer(conn, key, { workerId: 99, target }, { timeoutMs: 5_000 });
      } finally {
        conn.destroy();
      }
    };
    await expect(handshake(randomBytes(32), b!)).rejects.toThrow(/refused by peer: authentication failed/);
    await expect(handshake(secret, a!)).rejects.toThrow(new RegExp(`refused by peer: this is worker ${b!}, not worker ${a!}`));
    // The same exchange with the secret is admitted: the refusals above were the secret's and the target's.
    expect(await handshake(secret, b!)).toMatchObject({ workerId: b });
    const closed = await new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(port), host, () => socket.write(randomBytes(4096)));
      socket.resume(); // read the Hello, so the close is seen
      socket.on('error', () => {});
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 5_000).unref();
    });
    expect(closed).toBe(true);
    const before = callsSentTo(cluster, b!);
    expect(await callsBetween(cluster, a!, b!)).toMatchObject({ values: [0, 1, 2, 3, 4].map((i) => i * 10 + b!) });
    expect(callsSentTo(cluster, b!) - before).toBe(0);
  });

  it('a worker whose listener cannot be reached is called through the master', async () => {
    const cluster = testCluster({ topology: 'all_to_all' });
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    await addressOf(cluster, a!, b!);
    await cluster.remotecallFetch(b!, () => (globalThis as unknown as Record<symbol, { direct: { closeListener(): void } }>)[Symbol.for('@cm/core.peerClient')]!.direct.closeListener());
    const before = callsSentTo(cluster, b!);
    expect(await callsBetween(cluster, a!, b!)).toEqual({ values: [0, 1, 2, 3, 4].map((i) => i * 10 + b!), failed: { name: 'RemoteError', remoteName: 'RangeError', workerId: b } });
    expect(callsSentTo(cluster, b!) - before).toBe(6);
  });
});
