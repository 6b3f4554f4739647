import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Cluster, UsageError, moduleFunction } from '@cm/core';
import { afterEach, describe, expect, it } from 'vitest';
import { BALANCED, COMPACT, LocalAffinityManager, addprocsAffinity } from '../src/index.js';
import { readSysfsTopology } from '../src/topology.js';
import { intelStyle, removeFakeSysfsTrees, writeFakeSysfs } from './fake-sysfs.js';

afterEach(removeFakeSysfsTrees);

const cpusAllowedOnWorker = moduleFunction<[], string | undefined>(new URL('./fixtures/cpus-allowed.mjs', import.meta.url), 'cpusAllowed');

/** The CPUs a process may run on, as the kernel reports them. */
function cpusAllowed(pid: number | 'self'): string {
  const match = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no Cpus_allowed_list for ${pid}`);
  return match[1];
}

function quietCluster(): Cluster {
  return new Cluster({ onOutput: () => {} });
}

/** Throws `fn`'s error so its type and message can both be checked. */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

const twoSocketsWithHyperThreads = () => readSysfsTopology(writeFakeSysfs(intelStyle(2, 2, 2)));

describe('LocalAffinityManager options', () => {
  it('defaults to one worker per usable CPU, BALANCED', () => {
    const manager = new LocalAffinityManager();
    expect(manager.expectedWorkers).toBe(os.availableParallelism());
    expect(manager.mode).toBe(BALANCED);
  });

  it('places workers on a given topology by mode', () => {
    const topology = twoSocketsWithHyperThreads();
    expect(new LocalAffinityManager({ np: 2, mode: COMPACT, topology }).cpus).toEqual([0, 1]);
    expect(new LocalAffinityManager({ np: 2, mode: BALANCED, topology }).cpus).toEqual([0, 2]);
    expect(new LocalAffinityManager({ topology }).cpus).toHaveLength(8);
    expect(new LocalAffinityManager({ affinities: [5, 3], topology }).cpus).toEqual([5, 3]);
  });

  it('refuses more workers than CPUs, saying how many there are', () => {
    const error = errorOf(() => new LocalAffinityManager({ np: 9, topology: twoSocketsWithHyperThreads() }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/9 workers were asked for but this process may use only 8 CPUs \(0-7\)/);
    expect(() => new LocalAffinityManager({ np: readSysfsTopology().cpus.length + 1 })).toThrow(/lower `np`/);
  });

  it('refuses a CPU that does not exist', () => {
    const error = errorOf(() => new LocalAffinityManager({ affinities: [0, 64] }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/CPU 64 in `affinities` does not exist/);
    expect((error as UsageError).field).toBe('affinities');
  });

  it('refuses contradictory or malformed options', () => {
    expect(() => new LocalAffinityManager({ affinities: [0, 0] })).toThrow(/CPU 0 appears twice/);
    expect(() => new LocalAffinityManager({ np: 3, affinities: [0, 1] })).toThrow(/`np` is 3 but `affinities` names 2 CPUs/);
    expect(() => new LocalAffinityManager({ mode: COMPACT, affinities: [0] })).toThrow(/either `affinities`.*or `mode`/);
    expect(() => new LocalAffinityManager({ mode: 'scatter' as never })).toThrow(/`mode`/);
    expect(() => new LocalAffinityManager({ affinities: [] })).toThrow(/`affinities`: must name at least one CPU/);
    expect(() => new LocalAffinityManager({ np: 0 })).toThrow(/`np`/);
    expect(() => new LocalAffinityManager({ cpus: [0] } as never)).toThrow(UsageError);
  });

  it('says what to install when taskset is missing', () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      expect(() => new LocalAffinityManager({ np: 1 })).toThrow(/`taskset`, which is not on PATH; install util-linux/);
    } finally {
      process.env['PATH'] = path;
    }
    expect(() => new LocalAffinityManager({ np: 1, taskset: '/nonexistent/taskset' })).toThrow(/not an executable file/);
  });

  it('refuses to run on a system other than Linux', () => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    try {
      expect(() => new LocalAffinityManager({ np: 1 })).toThrow(/only on Linux \(this is darwin\); use LocalManager/);
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
  });
});

describe('LocalAffinityManager workers', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('COMPACT pins worker i to CPU i, as /proc/<pid>/status shows', async () => {
    cluster = quietCluster();
    const manager = new LocalAffinityManager({ np: 2, mode: COMPACT });
    const ids = await cluster.addprocs(manager);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const { pid, taskIndex } = cluster.worker(id);
      expect(cpusAllowed(pid)).toBe(String(taskIndex));
    }
  });

  it('pins each worker to its entry in `affinities`, as the worker itself sees it', async () => {
    cluster = quietCluster();
    const manager = new LocalAffinityManager({ affinities: [1, 0] });
    const ids = await cluster.addprocs(manager);
    const seen = await Promise.all(
      ids.map(async (id) => {
        const fromInside = await cluster!.remotecallFetch(id, cpusAllowedOnWorker);
        return { taskIndex: cluster!.worker(id).taskIndex!, fromInside, cpus: cluster!.worker(id).cpus };
      }),
    );
    for (const worker of seen) {
      expect(worker.fromInside).toBe(String(manager.cpuOf(worker.taskIndex)));
      expect(worker.cpus).toBe(1);
    }
    expect(seen.map((w) => w.fromInside).sort()).toEqual(['0', '1']);
  });

  it('addprocsAffinity pins a single worker to CPU 1', async () => {
    cluster = quietCluster();
    const [id] = await addprocsAffinity(cluster, { affinities: [1] });
    expect(cpusAllowed(cluster.worker(id!).pid)).toBe('1');
    // The master itself is not pinned.
    expect(cpusAllowed('self')).not.toBe('1');
  });

  it('an adaptive pool of it pins its workers to distinct CPUs', async () => {
    cluster = quietCluster();
    const pool = cluster.adapt(new LocalAffinityManager({ np: 2, mode: COMPACT }), { minimum: 0, maximum: 2, idleTimeoutMs: 60_000, intervalMs: 50 });
    try {
      const seen = await cluster.pmap(
        async (ms: number) => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return process.pid;
        },
        [300, 300, 300, 300],
      );
      expect(seen).toHaveLength(4);
      // Both workers came in one launch; the second may join after the map is done (bounded wait).
      for (let i = 0; i < 400 && cluster.nworkers() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const pinned = cluster.workers().map((id) => cpusAllowed(cluster!.worker(id).pid));
      expect(pinned.sort()).toEqual(['0', '1']);
    } finally {
      await pool.stop();
    }
  });
});
