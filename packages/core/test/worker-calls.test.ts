// Calls made by workers (issue 17): to other workers and to the master, through the master;
// Futures fetched on another process; a pmap inside a pmap item; losses on either side of a
// call between workers; ids that are not processes.
import { describe, expect, it } from 'vitest';
import { type FutureRef, LocalManager, RemoteError, UsageError, WorkerLostError, fetchFuture, isFutureRef, isUsageError, isWorkerLostError, remotecallFetch, workers } from '../src/index.js';
import { testCluster, waitFor } from './helpers.js';

/**
 * Inline functions reach the API as the worker's globals: vitest renames imported bindings in
 * the test's source, which a worker cannot resolve (code compiled by tsc keeps the names).
 */
interface Api {
  myid(): number;
  workers(): number[];
  nworkers(): number;
  remotecall(target: number, fn: (...args: any[]) => unknown, ...args: unknown[]): PromiseLike<unknown> & FutureRef;
  remotecallFetch(target: number | { worker: number; timeoutMs?: number }, fn: (...args: any[]) => unknown, ...args: unknown[]): Promise<unknown>;
  pmap(fn: (item: any) => unknown, items: unknown[], options?: object): Promise<unknown[]>;
  everywhere(fn: () => unknown): Promise<unknown[]>;
  spawnAt(target: number | 'any', fn: () => unknown): PromiseLike<unknown> & { fetch(): Promise<unknown> };
  fetchFuture(value: unknown): Promise<unknown>;
  currentSignal(): AbortSignal;
}
/** What the master's globals record for assertions (functions run on the master write here). */
const master = globalThis as unknown as Record<string, unknown>;

describe('calls from workers', () => {
  it('a worker calls another worker and the master, and knows the workers', async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    const seen = await cluster.remotecallFetch(
      a!,
      async (other: number) => {
        const { myid, workers, nworkers, remotecallFetch } = globalThis as unknown as Api;
        return {
          me: myid(),
          workers: workers(),
          count: nworkers(),
          fromOther: await remotecallFetch(other, (x: number) => x * 10 + (globalThis as unknown as Api).myid(), 4),
          fromMaster: await remotecallFetch(1, (x: number) => ({ x, on: process.pid }), 7),
        };
      },
      b!,
    );
    expect(seen).toEqual({ me: a, workers: [a, b], count: 2, fromOther: 40 + b!, fromMaster: { x: 7, on: process.pid } });
  });

  it('the master runs what a worker sends it (a progress report), and its exception comes back as a RemoteError from the master', async () => {
    const cluster = testCluster();
    const [a] = await cluster.addprocs(new LocalManager(1));
    delete master.progressReports;
    const outcome = await cluster.remotecallFetch(a!, async () => {
      const { remotecallFetch } = globalThis as unknown as Api;
      for (let done = 1; done <= 3; done++) {
        await remotecallFetch(
          1,
          (n: number) => ((globalThis as Record<string, unknown>).progressReports = [...(((globalThis as Record<string, unknown>).progressReports as number[] | undefined) ?? []), n]),
          done,
        );
      }
      try {
        await remotecallFetch(1, () => {
          throw new RangeError('no more input');
        });
        return 'no error';
      } catch (error) {
        return { name: (error as Error).name, workerId: (error as { workerId: number }).workerId, remoteName: (error as { remoteName: string }).remoteName };
      }
    });
    expect(master.progressReports).toEqual([1, 2, 3]);
    expect(outcome).toEqual({ name: 'RemoteError', workerId: 1, remoteName: 'RangeError' });
  });

  it('a Future made on worker 2 is fetched on worker 3 (and on the master)', async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    const made = (await cluster.remotecallFetch(
      a!,
      (on: number) => {
        const { remotecall } = globalThis as unknown as Api;
        const future = remotecall(on, (x: number) => x * x, 12);
        // The owner keeps the Future for as long as it is referenced here.
        (globalThis as Record<string, unknown>).kept = future;
        return { future };
      },
      b!,
    )) as { future: FutureRef };
    expect(isFutureRef(made.future)).toBe(true);
    expect(made.future).toMatchObject({ workerId: b, futureOwner: a });
    expect(await cluster.remotecallFetch(b!, (ref: FutureRef) => (globalThis as unknown as Api).fetchFuture(ref), made.future)).toBe(144);
    expect(await fetchFuture(made.future)).toBe(144);
  });

  it('a pmap of 4 items, each a pmap of 50, on 2 workers completes; the nested maps report progress and show in the snapshot', async () => {
    const cluster = testCluster();
    const workerIds = await cluster.addprocs(new LocalManager(2));
    const ended: { pmapId: number; startedBy?: number; done: number; total: number }[] = [];
    cluster.on('pmap-progress', ({ pmapId, startedBy, done, total, ended: last }) => {
      if (last) ended.push({ pmapId, ...(startedBy === undefined ? {} : { startedBy }), done, total });
    });
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
    const expected = [0, 1, 2, 3].map((n) => Array.from({ length: 50 }, (_, i) => 2 * (i + n * 100)).reduce((s, v) => s + v, 0));
    expect(sums).toEqual(expected);
    // The outer map (the master's) and the 4 nested ones (each from the worker running its item).
    expect(ended.find((e) => e.startedBy === undefined)).toMatchObject({ done: 4, total: 4 });
    const nested = ended.filter((e) => e.startedBy !== undefined);
    expect(nested).toHaveLength(4);
    expect(nested.every((e) => e.done === 50 && e.total === 50 && workerIds.includes(e.startedBy!))).toBe(true);
    const shown = cluster.snapshot().pmaps;
    expect(shown.filter((p) => p.startedBy !== null).every((p) => workerIds.includes(p.startedBy!) && p.ended)).toBe(true);
    expect(cluster.snapshot().events.filter((e) => /^pmap \d+ \(from worker \d+\) finished: 50 of 50 items/.test(e.text))).toHaveLength(4);
  });

  it("a worker whose call waits on a nested call is not busy: the master’s spawnAt('any') picks it over one that is busy", async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    delete master.releaseNested;
    // Busy as far as the master can tell: a call in flight that made no call of its own; it ends when told.
    const computing = cluster.remotecallFetch(a!, () => new Promise((resolve) => ((globalThis as Record<string, unknown>).releaseBusy = resolve)));
    const waiting = cluster.remotecallFetch(b!, () =>
      (globalThis as unknown as Api).remotecallFetch(1, () => new Promise((resolve) => ((globalThis as Record<string, unknown>).releaseNested = resolve))),
    );
    await waitFor(() => typeof master.releaseNested === 'function', 20_000, 'the nested call to reach the master');
    expect(await cluster.spawnAt('any', () => (globalThis as unknown as Api).myid())).toBe(b);
    (master.releaseNested as () => void)();
    await cluster.remotecallFetch(a!, () => ((globalThis as Record<string, unknown>).releaseBusy as () => void)());
    await Promise.all([computing, waiting]);
  });

  it('a worker killed during a call from another worker fails that call with WorkerLostError on the caller', async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    delete master.targetStarted;
    const outcome = cluster.remotecallFetch(
      a!,
      async (target: number) => {
        const { remotecallFetch } = globalThis as unknown as Api;
        try {
          await remotecallFetch(target, async () => {
            await (globalThis as unknown as Api).remotecallFetch(1, () => ((globalThis as Record<string, unknown>).targetStarted = true));
            return new Promise(() => {}); // never answers: the worker is killed first
          });
          return 'answered';
        } catch (error) {
          return { name: (error as Error).name, workerId: (error as { workerId?: number }).workerId, message: (error as Error).message };
        }
      },
      b!,
    );
    await waitFor(() => master.targetStarted === true, 20_000, 'the target to start the call');
    process.kill(cluster.worker(b!).pid, 'SIGKILL');
    const error = (await outcome) as { name: string; workerId: number; message: string };
    expect(error).toMatchObject({ name: 'WorkerLostError', workerId: b });
    expect(error.message).toMatch(new RegExp(`worker ${b!} .*was lost`));
  });

  it('a caller lost cancels the call it made: the target’s currentSignal() aborts', async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    delete master.cancelledBecause;
    delete master.calleeStarted;
    void cluster
      .remotecallFetch(
        a!,
        (target: number) =>
          (globalThis as unknown as Api).remotecallFetch(target, () => {
            const { currentSignal, remotecallFetch } = globalThis as unknown as Api;
            const signal = currentSignal();
            signal.addEventListener('abort', () => void remotecallFetch(1, (why: string) => ((globalThis as Record<string, unknown>).cancelledBecause = why), (signal.reason as Error).message));
            void remotecallFetch(1, () => ((globalThis as Record<string, unknown>).calleeStarted = true));
            return new Promise(() => {});
          }),
        b!,
      )
      .catch(() => undefined);
    await waitFor(() => master.calleeStarted === true, 20_000, 'the callee to start');
    process.kill(cluster.worker(a!).pid, 'SIGKILL');
    await waitFor(() => typeof master.cancelledBecause === 'string', 20_000, 'the callee to be cancelled');
    expect(master.cancelledBecause).toMatch(new RegExp(`the caller, worker ${a!}, is gone`));
  });

  it("from a worker, everywhere and spawnAt('any') reach every worker, itself included; a failed pmap item is a RemoteError naming its worker", async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    const outcome = await cluster.remotecallFetch(a!, async () => {
      const { everywhere, spawnAt, pmap } = globalThis as unknown as Api;
      const all = await everywhere(() => (globalThis as unknown as Api).myid());
      const any = await Promise.all([spawnAt('any', () => (globalThis as unknown as Api).myid()).fetch(), spawnAt('any', () => (globalThis as unknown as Api).myid()).fetch()]);
      let failed: unknown;
      try {
        await pmap(
          (x: number) => {
            if (x === 3) throw new RangeError(`bad item ${x}`);
            return x;
          },
          [1, 2, 3, 4],
        );
      } catch (error) {
        failed = { name: (error as Error).name, remoteName: (error as { remoteName: string }).remoteName, message: (error as Error).message, on: (error as { workerId: number }).workerId };
      }
      return { all, any: any.sort(), failed };
    });
    expect(outcome).toMatchObject({ all: [a, b], any: [a, b], failed: { name: 'RemoteError', remoteName: 'RangeError' } });
    const { failed } = outcome as { failed: { message: string; on: number } };
    expect([a, b]).toContain(failed.on);
    expect(failed.message).toMatch(/bad item 3 \(pmap item 2\)/);
  });

  it('a worker’s timeoutMs gives up on its call with a TimeoutError, and the target’s currentSignal() aborts', async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    delete master.timedOutBecause;
    const outcome = await cluster.remotecallFetch(
      a!,
      async (target: number) => {
        try {
          await (globalThis as unknown as Api).remotecallFetch({ worker: target, timeoutMs: 200 }, () => {
            const { currentSignal, remotecallFetch } = globalThis as unknown as Api;
            const signal = currentSignal();
            signal.addEventListener('abort', () => void remotecallFetch(1, (why: string) => ((globalThis as Record<string, unknown>).timedOutBecause = why), (signal.reason as Error).name));
            return new Promise(() => {});
          });
          return 'answered';
        } catch (error) {
          return (error as Error).name;
        }
      },
      b!,
    );
    expect(outcome).toBe('TimeoutError');
    await waitFor(() => master.timedOutBecause !== undefined, 20_000, 'the target to see the cancel');
    expect(master.timedOutBecause).toBe('TimeoutError');
  });

  it('a value from the master too large for a frame fails the worker’s call, naming the limit', async () => {
    const cluster = testCluster({ maxFrameBytes: 64 * 1024 });
    const [a] = await cluster.addprocs(new LocalManager(1));
    const outcome = await cluster.remotecallFetch(a!, async () => {
      try {
        await (globalThis as unknown as Api).remotecallFetch(1, () => 'x'.repeat(200_000));
        return 'answered';
      } catch (error) {
        return `${(error as Error).name}: ${(error as Error).message}`;
      }
    });
    expect(outcome).toMatch(/^FrameTooLargeError: .*65536/);
  });

  it('a worker cannot reach an id that is not a process of the cluster', async () => {
    const cluster = testCluster();
    const [a, b] = await cluster.addprocs(new LocalManager(2));
    const outcome = await cluster.remotecallFetch(a!, async () => {
      const { remotecallFetch } = globalThis as unknown as Api;
      const tries: unknown[] = [];
      for (const id of [99, 0]) {
        try {
          await remotecallFetch(id, () => 1);
          tries.push('answered');
        } catch (error) {
          tries.push({ name: (error as Error).name, message: (error as Error).message });
        }
      }
      return tries;
    });
    expect(outcome).toEqual([
      { name: 'UsageError', message: `remotecall: there is no worker 99; current workers: ${a!}, ${b!}` },
      { name: 'UsageError', message: `remotecall: there is no worker 0; current workers: ${a!}, ${b!}` },
    ]);
  });

  it('on the master, the top-level functions are the open cluster’s', async () => {
    const cluster = testCluster();
    const [a] = await cluster.addprocs(new LocalManager(1));
    expect(workers()).toEqual([a]);
    expect(await remotecallFetch(a!, () => 5)).toBe(5);
    await expect(remotecallFetch(42, () => 5)).rejects.toBeInstanceOf(UsageError);
    expect(isUsageError(new UsageError('x'))).toBe(true);
    expect(isWorkerLostError(new WorkerLostError(2, 'h', { reason: 'removed' }))).toBe(true);
    expect(new RemoteError(1, 'h', { name: 'E', message: 'm' }).workerId).toBe(1);
  });
});
