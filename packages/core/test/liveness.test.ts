import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LocalManager, WorkerLostError } from '../src/index.js';
import { alive, fixture, testCluster, waitFor } from './helpers.js';

describe('liveness', () => {
  it('a worker killed with SIGKILL fails its in-flight calls with WorkerLostError, saying how it died, within 2 s', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const lost: number[] = [];
    cluster.on('worker-lost', (worker) => lost.push(worker.id));
    const call = cluster.remotecallFetch(id!, () => new Promise(() => {}));
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = Date.now();
    process.kill(cluster.worker(id!).pid, 'SIGKILL');
    const error = (await call.catch((e: unknown) => e)) as WorkerLostError;
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect(error.workerId).toBe(id);
    expect(error.reason).toBe('connection-closed');
    expect(error.detail).toBe('killed by SIGKILL');
    expect(lost).toEqual([id]);
    expect(cluster.workers()).toEqual([]);
    expect(() => cluster.remotecall(id!, () => 1)).toThrow(/is gone \(lost: killed by SIGKILL\)/);
  });

  it('a worker killed by an exception thrown outside any call says why, to the master and in WorkerLostError', async () => {
    const lines: string[] = [];
    const cluster = testCluster({ onOutput: (_id, stream, line) => stream === 'stderr' && lines.push(line) });
    const [id] = await cluster.addprocs(new LocalManager(1));
    const lost = new Promise<string | undefined>((resolve) => cluster.on('worker-lost', (_w, loss) => resolve(loss.detail)));
    const pending = cluster.remotecallFetch(id!, () => new Promise(() => {}));
    await cluster.remotecallFetch(id!, () => {
      setTimeout(() => {
        throw new Error('kaboom in a timer');
      }, 10);
    });
    await expect(pending).rejects.toThrow(/exited with code 1: uncaught exception in user code, exiting: Error: kaboom in a timer/);
    expect(await lost).toMatch(/^exited with code 1: uncaught exception/);
    expect(lines.some((l) => l.includes('uncaught exception in user code, exiting: Error: kaboom in a timer'))).toBe(true);
  });

  it('SIGKILL of a worker mid-pmap: every item is in the result exactly once, computed by the survivors', async () => {
    const cluster = testCluster();
    const [victim, survivor] = await cluster.addprocs(new LocalManager(2));
    const items = Array.from({ length: 300 }, (_, i) => i);
    const mapping = cluster.pmap(
      async (x: number) => {
        await new Promise((r) => setTimeout(r, 2));
        return [x * 10, process.pid] as const;
      },
      items,
      { batchSize: 5 },
    );
    await new Promise((r) => setTimeout(r, 150));
    process.kill(cluster.worker(victim!).pid, 'SIGKILL');
    const results = await mapping;
    expect(results.map(([value]) => value)).toEqual(items.map((x) => x * 10));
    expect(results.some(([, pid]) => pid === cluster.worker(survivor!).pid)).toBe(true);
    expect(cluster.workers()).toEqual([survivor]);
  });

  it('pmap fails with WorkerLostError when every worker is lost', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const mapping = cluster.pmap(() => new Promise(() => {}), [1, 2, 3]);
    await new Promise((r) => setTimeout(r, 100));
    process.kill(cluster.worker(id!).pid, 'SIGKILL');
    await expect(mapping).rejects.toBeInstanceOf(WorkerLostError);
  });

  it('a frozen worker (SIGSTOP) is declared lost when its heartbeats stop, and then killed', async () => {
    const cluster = testCluster({ heartbeat: { intervalMs: 100, timeoutMs: 800 } });
    const [id] = await cluster.addprocs(new LocalManager(1));
    const pid = cluster.worker(id!).pid;
    const call = cluster.remotecallFetch(id!, () => new Promise(() => {}));
    process.kill(pid, 'SIGSTOP');
    const error = (await call.catch((e: unknown) => e)) as WorkerLostError;
    expect(error).toBeInstanceOf(WorkerLostError);
    expect(error.reason).toBe('heartbeat-timeout');
    expect(error.message).toMatch(/no heartbeat for 800 ms; killed by SIGKILL/);
    // Its manager killed it when it was declared lost: nothing waits for close() or a SIGCONT.
    await waitFor(() => !alive(pid), 2_000, 'the frozen worker to be killed');
  });

  it('when the master is killed with SIGKILL, every worker exits within 10 s', async () => {
    const master = execa('node', [fixture('master-then-hang.mjs')], { reject: false });
    const firstLine = await new Promise<string>((resolve) => master.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    const pids = JSON.parse(firstLine) as number[];
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    master.kill('SIGKILL');
    await master;
    const elapsed = await waitFor(() => !pids.some(alive), 10_000, 'workers of the killed master to exit');
    expect(elapsed).toBeLessThan(10_000);
  });

  it('when the master freezes (SIGSTOP), workers exit after the heartbeat timeout', async () => {
    const master = execa(
      'node',
      [
        '--input-type=module',
        '-e',
        `
      import { Cluster, LocalManager } from '@cm/core';
      const cluster = new Cluster({ heartbeat: { intervalMs: 100, timeoutMs: 1000 } });
      const ids = await cluster.addprocs(new LocalManager(1));
      console.log(JSON.stringify(ids.map((id) => cluster.worker(id).pid)));
      setInterval(() => {}, 1000);
    `,
      ],
      { reject: false, cwd: fixture('.') },
    );
    const pids = JSON.parse(await new Promise<string>((resolve) => master.stdout.once('data', (d: Buffer) => resolve(d.toString())))) as number[];
    master.kill('SIGSTOP');
    try {
      await waitFor(() => !pids.some(alive), 5_000, 'workers of the frozen master to exit');
    } finally {
      master.kill('SIGKILL');
      master.kill('SIGCONT');
      await master;
    }
  });

  it('a program that never calls close() still exits, and its workers with it', async () => {
    const run = await execa('node', [fixture('forgot-close.mjs')], { timeout: 20_000 });
    const { result, pid } = JSON.parse(run.stdout) as { result: number; pid: number };
    expect(result).toBe(42);
    await waitFor(() => !alive(pid), 5_000, 'the worker of the finished program to exit');
  });
});
