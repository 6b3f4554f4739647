import { describe, expect, it } from 'vitest';
import { Future, LocalManager, RemoteError, UsageError, fetchFuture as fetch, moduleFunction, myid } from '../src/index.js';
import { alive, fixture, testCluster } from './helpers.js';

const tasks = <Args extends unknown[] = any[], Result = any>(name: string) => moduleFunction<Args, Result>(fixture('tasks.mjs'), name);

/**
 * Vitest rewrites `import()` inside test files, which would make an inline function refer to
 * a test-runner variable; building the function from source keeps it as a user would write it.
 */
function inline<F>(source: string): F {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- deliberately compiling source, as a worker does
  return new Function(`return (${source})`)() as F;
}

describe('Cluster with local workers', () => {
  it('addprocs resolves to the ids of workers that have all joined, and reports who they are', async () => {
    const cluster = testCluster();
    const ids = await cluster.addprocs(new LocalManager(2));
    expect(ids).toEqual([2, 3]);
    expect(cluster.workers()).toEqual([2, 3]);
    expect(cluster.nworkers()).toBe(2);
    const configs = ids.map((id) => cluster.worker(id));
    expect(configs.map((c) => c.taskIndex).sort()).toEqual([0, 1]);
    for (const config of configs) {
      expect(config.pid).toBeGreaterThan(0);
      expect(config.pid).not.toBe(process.pid);
      expect(config.cpus).toBeGreaterThan(0);
      expect(config.jobId).toBeNull();
    }
    const pids = await cluster.everywhere(() => process.pid);
    expect(pids).toEqual(configs.map((c) => c.pid));
  });

  it('myid() is 1 on the master and the worker id inside workers', async () => {
    const cluster = testCluster();
    const ids = await cluster.addprocs(new LocalManager(2));
    expect(myid()).toBe(1);
    const seen = await cluster.everywhere(inline<() => Promise<number>>(`async () => (await import('@cm/core')).myid()`));
    expect(seen).toEqual(ids);
  });

  it('remotecall returns a Future that can be awaited, fetched and waited on', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const future = cluster.remotecall(id!, (a: number, b: number) => a + b, 2, 3);
    expect(future).toBeInstanceOf(Future);
    expect(future.workerId).toBe(id);
    expect(await future).toBe(5);
    expect(await future.fetch()).toBe(5);
    expect(await fetch(future)).toBe(5);
    expect(await fetch(7)).toBe(7);
    expect(future.isReady()).toBe(true);
    expect(await cluster.remotecallFetch(id!, (s: string) => s.toUpperCase(), 'abc')).toBe('ABC');
    const slow = cluster.remotecall(id!, async () => {
      await new Promise((r) => setTimeout(r, 30));
      return 'done';
    });
    expect(slow.isReady()).toBe(false);
    await slow.wait();
    expect(slow.isReady()).toBe(true);
    expect(await slow.fetch()).toBe('done');
    await expect(cluster.remotecallWait(id!, () => 'ignored')).resolves.toBeUndefined();
    await expect(
      cluster.remotecallWait(id!, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow(/boom/);
    expect(await cluster.spawnAt('any', () => 'anywhere')).toBe('anywhere');
    expect(await cluster.spawnAt(id!, () => 'there')).toBe('there');
  });

  it('ships typed arrays both ways without loss', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const input = Float64Array.from({ length: 1000 }, (_, i) => i / 3);
    const doubled = await cluster.remotecallFetch(id!, (v: Float64Array) => v.map((x) => x * 2), input);
    expect(doubled).toBeInstanceOf(Float64Array);
    expect(doubled[999]).toBeCloseTo(666, 10);
  });

  it('a remote exception comes back as RemoteError with worker id, host, original name, message and stack', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const error = await cluster
      .remotecallFetch(id!, () => {
        class ValidationError extends Error {
          override name = 'ValidationError';
        }
        throw new ValidationError('bad input 17');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    const remote = error as RemoteError;
    expect(remote.workerId).toBe(id);
    expect(remote.host).toBe(cluster.worker(id!).host);
    expect(remote.remoteName).toBe('ValidationError');
    expect(remote.remoteMessage).toBe('bad input 17');
    expect(remote.remoteStack).toContain('cm-inline-');
    expect(remote.message).toBe(`on worker ${id} (${remote.host}): ValidationError: bad input 17`);
  });

  it('an inline function that captures an outer variable fails with an error that says so', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const factor = 3;
    const error = (await cluster.remotecallFetch(id!, (x: number) => x * factor, 2).catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remoteName).toBe('ReferenceError');
    expect(error.remoteMessage).toMatch(/captures the outer variable `factor`/);
    expect(error.remoteMessage).toMatch(/Pass factor as an argument/);
  });

  it('a function that cannot be shipped, or arguments that cannot be cloned, fail before anything is sent', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    expect(() => cluster.remotecall(id!, Math.max)).toThrow(/built-in or bound function/);
    expect(() => cluster.remotecall(id!, (() => 1).bind(null))).toThrow(UsageError);
    expect(() => cluster.remotecall(id!, 'nope' as unknown as () => void)).toThrow(/expected a function or a moduleFunction/);
    expect(() =>
      cluster.remotecall(
        id!,
        (f: unknown) => f,
        () => 1,
      ),
    ).toThrow(/arguments cannot be sent to worker/);
    // The worker still answers: nothing half-sent broke the connection.
    expect(await cluster.remotecallFetch(id!, () => 'still fine')).toBe('still fine');
  });

  it('values over maxFrameBytes fail that call with a clear error, both ways, and the worker stays', async () => {
    const cluster = testCluster({ maxFrameBytes: 1024 * 1024 });
    const [id] = await cluster.addprocs(new LocalManager(1));
    expect(() => cluster.remotecall(id!, (b: Buffer) => b.length, Buffer.alloc(2 * 1024 * 1024))).toThrow(
      /arguments cannot be sent to worker \d+: the call would be a frame of \d+ bytes, over the limit of 1048576 bytes; raise the Cluster option maxFrameBytes/,
    );
    await expect(cluster.remotecallFetch(id!, () => new Float64Array(300_000))).rejects.toThrow(
      /result cannot be sent to the master: the result would be a frame of \d+ bytes, over the limit of 1048576 bytes/,
    );
    expect(await cluster.remotecallFetch(id!, () => 'still here')).toBe('still here');
  });

  it('method shorthand and async functions are shipped too', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const helpers = {
      triple(x: number) {
        return x * 3;
      },
      async later(x: number) {
        return x + 1;
      },
    };
    expect(await cluster.remotecallFetch(id!, helpers.triple, 4)).toBe(12);
    expect(await cluster.remotecallFetch(id!, helpers.later, 4)).toBe(5);
  });

  it('module functions are imported once per worker and cached', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    expect(await cluster.pmap(tasks('square'), [1, 2, 3, 4], { batchSize: 1 })).toEqual([1, 4, 9, 16]);
    const first = await cluster.everywhere(tasks('callCount'));
    const second = await cluster.everywhere(tasks('callCount'));
    for (let i = 0; i < first.length; i++) {
      expect(second[i]!.calls).toBe(first[i]!.calls + 1);
      expect(second[i]!.loadedAt).toBe(first[i]!.loadedAt);
    }
  });

  it('a missing export or a non-function export fails that call with a clear message', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    await expect(cluster.remotecallFetch(id!, tasks('nope'))).rejects.toThrow(/has no export named "nope" \(its exports: .*square/);
    await expect(cluster.remotecallFetch(id!, tasks('notAFunction'))).rejects.toThrow(/is a number, not a function/);
    await expect(cluster.remotecallFetch(id!, moduleFunction(fixture('does-not-exist.mjs'), 'x'))).rejects.toThrow(/Cannot find module|ERR_MODULE_NOT_FOUND/);
    expect(await cluster.remotecallFetch(id!, tasks('square'), 5)).toBe(25);
  });

  it('everywhere runs on every worker, in the order of workers()', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    await cluster.everywhere(() => {
      (globalThis as Record<string, unknown>).setting = 'configured';
    });
    const seen = await cluster.everywhere(() => (globalThis as Record<string, unknown>).setting);
    expect(seen).toEqual(['configured', 'configured']);
  });

  it('pmap returns results in input order, spread over the workers', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const items = Array.from({ length: 200 }, (_, i) => i);
    const results = await cluster.pmap(
      inline<(x: number) => Promise<{ x: number; by: number }>>(`async (x) => {
        await new Promise((r) => setTimeout(r, 1));
        return { x, by: (await import('@cm/core')).myid() };
      }`),
      items,
      { batchSize: 4 },
    );
    expect(results.map((r) => r.x)).toEqual(items);
    expect(new Set(results.map((r) => r.by))).toEqual(new Set(cluster.workers()));
  });

  it('pmap with automatic batching handles many tiny items and any iterable', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    function* numbers() {
      for (let i = 0; i < 20_000; i++) yield i;
    }
    const results = await cluster.pmap((x: number) => x * 2, numbers());
    expect(results).toHaveLength(20_000);
    expect(results.every((value, i) => value === i * 2)).toBe(true);
    expect(await cluster.pmap((x: number) => x, [])).toEqual([]);
  });

  it('pmap puts workers that join while it runs to work', async () => {
    const cluster = testCluster();
    const [first] = await cluster.addprocs(new LocalManager(1));
    const mapping = cluster.pmap(
      async (x: number) => {
        await new Promise((r) => setTimeout(r, 20));
        return [x, process.pid] as const;
      },
      Array.from({ length: 150 }, (_, i) => i),
      { batchSize: 1 },
    );
    const [second] = await cluster.addprocs(new LocalManager(1));
    const results = await mapping;
    expect(results.map(([x]) => x)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    const pids = new Set(results.map(([, pid]) => pid));
    expect(pids).toEqual(new Set([cluster.worker(first!).pid, cluster.worker(second!).pid]));
  });

  it('pmap gives no items to a worker whose job ends within the walltime margin', async () => {
    const cluster = testCluster();
    const [ending] = await cluster.addprocs(new LocalManager({ np: 1, env: { CM_ENDS_AT: String(Date.now() + 30_000) } }));
    const [fresh] = await cluster.addprocs(new LocalManager(1));
    expect(cluster.worker(ending!).endsAt).toBeGreaterThan(Date.now());
    const pids = await cluster.pmap(
      () => process.pid,
      Array.from({ length: 40 }, (_, i) => i),
      { batchSize: 1 },
    );
    expect(new Set(pids)).toEqual(new Set([cluster.worker(fresh!).pid]));
    // With a shorter margin, both take items.
    const both = await cluster.pmap(
      () => process.pid,
      Array.from({ length: 40 }, (_, i) => i),
      { batchSize: 1, walltimeMarginMs: 1_000 },
    );
    expect(new Set(both).size).toBe(2);
  });

  it('pmap rejects with the RemoteError of a failing item, after its retries', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(2));
    const failing = (x: number) => {
      if (x === 7) throw new RangeError(`seven is unlucky`);
      return x;
    };
    const error = (await cluster.pmap(failing, [1, 2, 7, 8]).catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remoteName).toBe('RangeError');
    expect(error.remoteMessage).toBe('seven is unlucky (pmap item 2)');
  });

  it('pmap retries an item whose function threw, within retry.errors', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(1));
    const flaky = (x: number) => {
      const g = globalThis as unknown as Record<string, number>;
      g.attempts = (g.attempts ?? 0) + 1;
      if (x === 3 && g.attempts < 3) throw new Error('transient');
      return x;
    };
    expect(await cluster.pmap(flaky, [3], { retry: { errors: 2 } })).toEqual([3]);
  });

  it('pmap can be aborted', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(1));
    const controller = new AbortController();
    const mapping = cluster.pmap(
      async (x: number) => new Promise((r) => setTimeout(() => r(x), 50)),
      Array.from({ length: 100 }, (_, i) => i),
      { signal: controller.signal, batchSize: 1 },
    );
    setTimeout(() => controller.abort(new Error('user gave up')), 100);
    await expect(mapping).rejects.toThrow('user gave up');
  });

  it('rmprocs removes workers; calls to removed or unknown workers fail before anything is sent', async () => {
    const cluster = testCluster();
    const ids = await cluster.addprocs(new LocalManager(2));
    const pid = cluster.worker(ids[0]!).pid;
    await cluster.rmprocs(ids[0]!);
    expect(cluster.workers()).toEqual([ids[1]]);
    expect(() => cluster.remotecall(ids[0]!, () => 1)).toThrow(new RegExp(`worker ${ids[0]} is gone \\(removed by rmprocs\\); current workers: ${ids[1]}`));
    expect(() => cluster.remotecall(99, () => 1)).toThrow(/there is no worker 99/);
    await expect(cluster.remotecallFetch(99, () => 1)).rejects.toThrow(UsageError);
    await expect(cluster.rmprocs([ids[1]!, 99])).rejects.toThrow(/there is no worker 99/);
    expect(cluster.workers()).toEqual([ids[1]]);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(pid)).toBe(false);
  });

  it('worker ids are never reused', async () => {
    const cluster = testCluster();
    const first = await cluster.addprocs(new LocalManager(1));
    await cluster.rmprocs(first);
    const second = await cluster.addprocs(new LocalManager(1));
    expect(second[0]).toBeGreaterThan(first[0]!);
  });

  it('invalid options fail with an error naming the field, before anything starts', () => {
    expect(() => testCluster({ port: 70000 })).toThrow(/invalid Cluster options: `port`/);
    expect(() => testCluster({ heartbeat: { intervalMs: 1000, timeoutMs: 500 } })).toThrow(/`heartbeat`: timeoutMs must be larger/);
    expect(() => testCluster({ bogus: 1 } as never)).toThrow(/bogus/);
    expect(() => new LocalManager(0)).toThrow(/invalid LocalManager options: `np`/);
    expect(() => new LocalManager({ np: 2, nodeArgs: 'x' } as never)).toThrow(/`nodeArgs`/);
  });

  it('pmap and addprocs validate their options', async () => {
    const cluster = testCluster();
    await expect(cluster.addprocs(new LocalManager(1), { timeoutMs: -1 })).rejects.toThrow(/invalid addprocs options: `timeoutMs`/);
    await expect(cluster.addprocs({} as never)).rejects.toThrow(/must be a ClusterManager/);
    expect(cluster.nworkers()).toBe(0);
    await expect(cluster.pmap((x: number) => x, [1])).rejects.toThrow(/no workers to run on; call addprocs first/);
    await cluster.addprocs(new LocalManager(1));
    await expect(cluster.pmap((x: number) => x, [1], { batchSize: 0 })).rejects.toThrow(/invalid pmap options: `batchSize`/);
  });

  it('a closed cluster refuses new work and closing twice is fine', async () => {
    const cluster = testCluster();
    const ids = await cluster.addprocs(new LocalManager(1));
    const pid = cluster.worker(ids[0]!).pid;
    await cluster.close();
    await cluster.close();
    expect(cluster.workers()).toEqual([]);
    await expect(cluster.addprocs(new LocalManager(1))).rejects.toThrow(/the cluster is closed/);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(pid)).toBe(false);
  });

  it('works with await using', async () => {
    let pid = 0;
    {
      await using cluster = testCluster();
      const [id] = await cluster.addprocs(new LocalManager(1));
      pid = cluster.worker(id!).pid;
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(pid)).toBe(false);
  });
});
