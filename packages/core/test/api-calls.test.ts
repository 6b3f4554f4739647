// Giving up on remote calls: a signal or a timeout rejects the call with the signal's reason
// at once, and the worker is told to abandon it (the function's currentSignal() aborts). A
// worker that speaks protocol 1.0 is never sent the Cancel frame it does not know.
import { hostname } from 'node:os';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type ClusterManager, LocalManager, WORKER_ENV, currentSignal, myid } from '../src/index.js';
import { FramedConnection } from '../src/protocol/connection.js';
import { FrameType } from '../src/protocol/frame.js';
import { HANDSHAKE_MAX_FRAME_BYTES, joinMaster } from '../src/protocol/handshake.js';
import { decodeCall, encodeResult } from '../src/protocol/messages.js';
import { testCluster } from './helpers.js';

/**
 * Inline functions reach `currentSignal` as the worker's global: vitest renames imported
 * bindings in the test's source (`__vite_ssr_import_3__.currentSignal`), which a worker cannot
 * resolve. (Code compiled by tsc keeps the imported name, which the global then answers.)
 */
interface WorkerGlobals {
  currentSignal(): AbortSignal;
  myid(): number;
}

/** Runs on a worker: waits until its call is cancelled, then records the reason in a global. */
const waitForCancel = (label: string) => {
  const signal = (globalThis as unknown as WorkerGlobals).currentSignal();
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => {
      (globalThis as Record<string, unknown>)[label] = { name: (signal.reason as Error).name, message: (signal.reason as Error).message };
      reject(signal.reason as Error);
    });
  });
};
const seen = (label: string) => (globalThis as Record<string, unknown>)[label] ?? null;

/** Ask a worker for a global until it is set (bounded). */
async function remoteGlobal(cluster: ReturnType<typeof testCluster>, worker: number, label: string): Promise<unknown> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const value = await cluster.remotecallFetch(worker, seen, label);
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`worker ${worker} never recorded ${label}`);
}

describe('cancellable calls', () => {
  it('an abort rejects with the signal’s reason, and the worker’s currentSignal() aborts with it', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager(1));
    const controller = new AbortController();
    const call = cluster.remotecallFetch({ worker: worker!, signal: controller.signal }, waitForCancel, 'aborted');
    const reason = new Error('the user pressed stop');
    setTimeout(() => controller.abort(reason), 50);
    await expect(call).rejects.toBe(reason);
    expect(await remoteGlobal(cluster, worker!, 'aborted')).toEqual({ name: 'Error', message: 'the user pressed stop' });
  });

  it('timeoutMs rejects with a TimeoutError DOMException, which the worker sees too', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager(1));
    const error = await cluster.remotecallFetch({ worker: worker!, timeoutMs: 50 }, waitForCancel, 'timedOut').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect((error as DOMException).message).toBe(`remotecallFetch on worker ${worker} timed out after 50 ms`);
    expect(await remoteGlobal(cluster, worker!, 'timedOut')).toEqual({ name: 'TimeoutError', message: `remotecallFetch on worker ${worker} timed out after 50 ms` });
  });

  it('an already aborted signal sends nothing and rejects with its reason', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager(1));
    const marker = () => ((globalThis as Record<string, unknown>).ran = true);
    await expect(cluster.remotecall({ worker: worker!, signal: AbortSignal.abort('no') }, marker).fetch()).rejects.toBe('no');
    expect(await cluster.remotecallFetch(worker!, seen, 'ran')).toBeNull();
  });

  it('Future.fetch, remotecallWait, spawnAt and everywhere take a signal or a timeout too', async () => {
    const cluster = testCluster();
    const ids = await cluster.addprocs(new LocalManager(2));
    const future = cluster.remotecall(ids[0]!, waitForCancel, 'fetched');
    await expect(future.fetch({ timeoutMs: 30 })).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(future).rejects.toMatchObject({ name: 'TimeoutError' }); // the call itself was given up
    expect(await remoteGlobal(cluster, ids[0]!, 'fetched')).toMatchObject({ name: 'TimeoutError' });

    await expect(cluster.remotecallWait({ worker: ids[1]!, timeoutMs: 30 }, waitForCancel, 'waited')).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(cluster.spawnAt({ worker: 'any', timeoutMs: 30 }, waitForCancel, 'spawned').fetch()).rejects.toMatchObject({ name: 'TimeoutError' });

    const controller = new AbortController();
    const all = cluster.everywhere({ signal: controller.signal }, waitForCancel, 'everywhere');
    setTimeout(() => controller.abort(new Error('enough')), 50);
    await expect(all).rejects.toThrow('enough');
    for (const id of ids) expect(await remoteGlobal(cluster, id, 'everywhere')).toEqual({ name: 'Error', message: 'enough' });
    // Plain calls still work after all that, and currentSignal() on the master never aborts.
    expect(await cluster.everywhere(() => (globalThis as unknown as WorkerGlobals).myid())).toEqual(ids);
    expect(myid()).toBe(1);
    expect(currentSignal().aborted).toBe(false);
  });

  it('an inline function can call currentSignal() by name: it is a global on workers', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager(1));
    // Source that names currentSignal without importing it, as an inline function shipped from a file that imported it reads.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- building such a function is the point
    const usesGlobal = new Function(
      'return async () => { const signal = currentSignal(); await new Promise((r) => signal.addEventListener("abort", r)); globalThis.viaGlobal = signal.reason.name; }',
    )() as () => Promise<void>;
    await expect(cluster.remotecallFetch({ worker: worker!, timeoutMs: 30 }, usesGlobal)).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await remoteGlobal(cluster, worker!, 'viaGlobal')).toBe('TimeoutError');
  });

  it('currentSignal() after an await says to call it first', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager(1));
    const late = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return (globalThis as unknown as WorkerGlobals).currentSignal();
    };
    await expect(cluster.remotecallFetch(worker!, late)).rejects.toThrow(/currentSignal\(\) was called outside the synchronous start of a remote call/);
  });

  it('an aborted pmap cancels its batches in flight: their workers stop between items', async () => {
    const cluster = testCluster();
    const ids = await cluster.addprocs(new LocalManager(2));
    const item = async (x: number) => {
      const g = globalThis as unknown as Record<string, number>;
      g.started = (g.started ?? 0) + 1;
      const signal = (globalThis as unknown as WorkerGlobals).currentSignal();
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      g.cancelled = (g.cancelled ?? 0) + 1;
      return x;
    };
    const controller = new AbortController();
    const map = cluster.pmap(
      item,
      Array.from({ length: 50 }, (_, i) => i),
      { signal: controller.signal, batchSize: 5 },
    );
    setTimeout(() => controller.abort(new Error('map aborted')), 100);
    await expect(map).rejects.toThrow('map aborted');
    const counts = () => {
      const g = globalThis as unknown as Record<string, number>;
      return [g.started ?? 0, g.cancelled ?? 0];
    };
    for (const id of ids) {
      // Each cancelled batch abandons the item it is on and starts no other: an item started
      // after the cancel would wait forever on its (already aborted) signal, so the counts would never meet.
      let last: number[] = [];
      for (let attempt = 0; attempt < 100; attempt++) {
        last = await cluster.remotecallFetch(id, counts);
        if (last[1]! > 0 && last[0] === last[1]) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(last[1]).toBeGreaterThan(0);
      expect(last[0]).toBe(last[1]);
    }
  });
});

describe('mixed protocol versions', () => {
  it('a worker speaking 1.0 gets no Cancel frame: its call is given up on the master only, and the connection keeps working', async () => {
    const cluster = testCluster();
    const received: number[] = [];
    let conn: FramedConnection | undefined;
    const oldWorker: ClusterManager = {
      name: 'old',
      expectedWorkers: 1,
      async launch(context) {
        const socket = net.connect(context.master.port, context.master.host);
        await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
        const secret = Buffer.from(context.workerEnv[WORKER_ENV.secret]!, 'base64url');
        const identity = { launchId: context.launchId, taskIndex: 0, jobId: null, host: hostname(), pid: process.pid, cpus: 1, nodeVersion: process.version, endsAt: null };
        const welcome = await joinMaster(conn, secret, identity, { timeoutMs: 5_000, version: { major: 1, minor: 0 } });
        expect(welcome.version).toEqual({ major: 1, minor: 0 });
        conn.maxFrameBytes = welcome.maxFrameBytes;
        const live = conn;
        live.onFrame(({ type, payload }) => {
          received.push(type);
          // A 1.0 worker knows no 0x16: seeing one, it would drop the connection.
          if (type === FrameType.Cancel) live.destroy(new Error('unknown frame type 0x16'));
          if (type !== FrameType.Call) return;
          const call = decodeCall(payload);
          if (call.args[0] === 'hang') return; // never answers this one
          live.send(FrameType.Result, encodeResult({ id: call.id, ok: true, value: call.args[0] }));
        });
      },
      async shutdown() {
        conn?.destroy();
      },
    };
    const [worker] = await cluster.addprocs(oldWorker);
    const echo = (x: string) => x;
    await expect(cluster.remotecallFetch({ worker: worker!, timeoutMs: 50 }, echo, 'hang')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await cluster.remotecallFetch(worker!, echo, 'still here')).toBe('still here');
    expect(received).not.toContain(FrameType.Cancel);
    expect(cluster.workers()).toEqual([worker]);
  });
});
