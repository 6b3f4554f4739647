import { describe, expect, it } from 'vitest';
import { type ClusterManager, type LaunchContext, LaunchError, LocalManager } from '../src/index.js';
import { alive, quietLogger, testCluster, waitFor } from './helpers.js';

/** A manager that starts nothing, recording what the cluster asks of it. */
class SilentManager implements ClusterManager {
  readonly name = 'silent';
  readonly shutdowns: string[] = [];
  context: LaunchContext | undefined;
  constructor(readonly expectedWorkers: number) {}
  async launch(context: LaunchContext): Promise<void> {
    this.context = context;
  }
  async shutdown(reason: string): Promise<void> {
    this.shutdowns.push(reason);
  }
}

describe('launching workers', () => {
  it('a worker that dies before joining fails addprocs with its exit and stderr', async () => {
    const cluster = testCluster();
    const error = (await cluster.addprocs(new LocalManager({ np: 1, nodeArgs: ['--require', '/nonexistent/preload.cjs'] })).catch((e: unknown) => e)) as LaunchError;
    expect(error).toBeInstanceOf(LaunchError);
    expect(error.message).toMatch(/local worker 0 exited with code 1 before joining/);
    expect(error.stderrTail).toMatch(/Cannot find module '\/nonexistent\/preload.cjs'/);
    expect(error.message).toContain('--- last lines of its stderr ---');
    expect(cluster.nworkers()).toBe(0);
  });

  it('a partly failed launch is rolled back: workers that had joined are removed', async () => {
    const cluster = testCluster();
    // Task 1 runs `false` instead of a worker; task 0 joins normally.
    const manager = new LocalManager(2, (command, index) => (index === 1 ? { file: 'false', args: [] } : command));
    const joined: number[] = [];
    cluster.on('worker-joined', (w) => joined.push(w.pid));
    await expect(cluster.addprocs(manager)).rejects.toThrow(LaunchError);
    expect(cluster.workers()).toEqual([]);
    await waitFor(() => !joined.some(alive), 5_000, 'the joined worker of the failed launch to exit');
  });

  it("a failed launch of a reused manager stops only that launch's workers", async () => {
    const cluster = testCluster();
    const manager = new LocalManager(1);
    const [first] = await cluster.addprocs(manager);
    await expect(cluster.addprocs(manager, { timeoutMs: 1 })).rejects.toThrow(/timed out after 1 ms/);
    expect(cluster.workers()).toEqual([first]);
    expect(await cluster.remotecallFetch(first!, () => 'alive')).toBe('alive');
  });

  it('a launch that times out says how many workers joined and stops what it started', async () => {
    const cluster = testCluster();
    const manager = new SilentManager(3);
    const error = (await cluster.addprocs(manager, { timeoutMs: 300 }).catch((e: unknown) => e)) as LaunchError;
    expect(error).toBeInstanceOf(LaunchError);
    expect(error.message).toMatch(/silent launch timed out after 300 ms with 0 of 3 workers joined/);
    expect(error.joined).toBe(0);
    expect(error.expected).toBe(3);
    expect(manager.shutdowns).toHaveLength(1);
    expect(manager.context!.signal.aborted).toBe(true);
  });

  it('an aborted launch stops and rejects', async () => {
    const cluster = testCluster();
    const manager = new SilentManager(1);
    const controller = new AbortController();
    const launching = cluster.addprocs(manager, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(launching).rejects.toThrow(/silent launch was aborted with 0 of 1 workers joined/);
    expect(manager.shutdowns).toHaveLength(1);
  });

  it('the launch context carries the command, the connect environment and the launch id', async () => {
    const cluster = testCluster();
    const manager = new SilentManager(0);
    await cluster.addprocs(manager);
    const context = manager.context!;
    expect(context.workerCommand.file).toBe(process.execPath);
    expect(context.workerCommand.args[0]).toMatch(/dist\/worker\/main\.js$/);
    expect(context.workerCommandLine).toContain('dist/worker/main.js');
    expect(context.workerCommandLine).not.toContain(context.workerEnv.CM_SECRET);
    expect(context.workerEnv).toMatchObject({ CM_MASTER_HOST: '127.0.0.1', CM_LAUNCH_ID: context.launchId });
    expect(Buffer.from(context.workerEnv.CM_SECRET!, 'base64url')).toHaveLength(32);
  });

  it('workers beyond the expected count of a launch are refused', async () => {
    const logger = quietLogger();
    const cluster = testCluster({ logger });
    // Two processes claim the same launch (and both task 0); only one is expected. The second
    // starts once the first has joined, so which one is refused does not depend on timing.
    const first = new LocalManager(1);
    const second = new LocalManager(1);
    const doubled: ClusterManager = {
      name: 'doubled',
      expectedWorkers: 1,
      launch: async (context) => {
        await first.launch(context);
        await waitFor(() => context.joined() === 1 || context.signal.aborted, 10_000, 'the first worker to join');
        await second.launch(context);
      },
      shutdown: async () => {
        await Promise.all([first.shutdown(), second.shutdown()]);
      },
    };
    const ids = await cluster.addprocs(doubled, { timeoutMs: 10_000 });
    expect(ids).toHaveLength(1);
    await waitFor(() => logger.warnings.length > 0, 10_000, 'the second worker to be refused');
    expect(cluster.nworkers()).toBe(1);
    expect(logger.warnings[0]).toMatch(/already has all 1 of its workers|is not \(or no longer\) accepting workers|task 0 of launch L[0-9a-f]+ has already joined/);
  });

  it('the cluster listens on a named network interface, and names the ones there are when it is wrong', async () => {
    const cluster = testCluster({ interface: 'lo' });
    expect((await cluster.listen()).host).toBe('127.0.0.1');
    expect(await cluster.addprocs(new LocalManager(1))).toHaveLength(1);
    expect(() => testCluster({ interface: 'nope0' })).toThrow(/`interface`: this machine has no interface nope0; it has .*lo \(127\.0\.0\.1/);
    expect(() => testCluster({ interface: 'lo', host: '127.0.0.1' })).toThrow(/give `host` or `interface`, not both/);
  });

  it('the cluster listens on a configured port range', async () => {
    const cluster = testCluster({ port: [47_000, 47_010] });
    const address = await cluster.listen();
    expect(address.port).toBeGreaterThanOrEqual(47_000);
    expect(address.port).toBeLessThanOrEqual(47_010);
    const taken = testCluster({ port: address.port });
    await expect(taken.listen()).rejects.toThrow(new RegExp(`could not listen on 127.0.0.1 port ${address.port}: .*EADDRINUSE`));
  });
});
