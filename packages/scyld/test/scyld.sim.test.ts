// ScyldManager against the Scyld/BProc simulator of tooling/simulators (beomap, bpsh that
// does not take the remote worker down with it): the shared conformance suite (no queue, so
// no pendingOptions), then Scyld's own cases.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from '@cm/core';
import { describeBatchDriver } from '@cm/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScyldManager, addprocsScyld } from '../src/index.js';
import { type Simulator, eventually, useSimulator } from './sim.js';

const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-scyld-test-'));
const base = { logDir, progress: 'none' as const };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let sim: Simulator;
let stop: () => Promise<void>;
beforeAll(() => {
  // Nodes 0-3, two CPUs each, all up; cases change them with sim.inject.
  ({ sim, stop } = useSimulator({ nodes: 4, cpusPerNode: 2 }));
});
afterAll(async () => {
  await stop();
  rmSync(logDir, { recursive: true, force: true });
});

/** Whether a process exists. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describeBatchDriver(
  { describe, it },
  {
    name: 'scyld (simulator)',
    create: (np, options) => new ScyldManager(np, options),
    baseOptions: base,
    timeoutMs: 60_000,
  },
);

describe('Scyld through the simulator', () => {
  const open: Cluster[] = [];
  const secret = randomBytes(32).toString('base64url');
  const cluster = () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {}, secret });
    open.push(c);
    return c;
  };
  afterEach(async () => {
    sim.inject({});
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  /** The bpsh commands this master runs now, as their argument words after `bpsh` (bpsh logs to the simulator only when it exits). */
  const bpshCommands = () =>
    execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((words) => words[1]?.endsWith('/bpsh'))
      .map((words) => words.slice(2));

  it('addprocs of 4 on the nodes beomap chose: pmap sees each worker’s task index and BProc’s variables; close really ends the remote workers', async () => {
    const c = cluster();
    const before = sim.invocations().length;
    const ids = await addprocsScyld(c, 4, base);
    expect(ids).toHaveLength(4);
    const beomap = sim
      .invocations()
      .slice(before)
      .filter((e) => e.command === 'beomap');
    expect(beomap.map((e) => e.argv)).toEqual([['--no-local', '--np', '4']]);
    const nodes = beomap[0]!.stdout.trim().split(':');
    const seen = await c.everywhere(() => ({ rank: process.env.BPROC_RANK, prog: process.env.BPROC_PROGNAME, secret: process.env.CM_SECRET ?? null, pid: process.pid }));
    expect(ids.map((id) => c.worker(id).taskIndex).sort()).toEqual([0, 1, 2, 3]);
    // One node per bpsh: the rank in its node list is always 0.
    // bpsh starts a shell that announces its pid and execs the worker: BProc names that shell.
    expect(seen.every((s) => s.rank === '0000000' && /(^|\/)sh$/.test(s.prog ?? '') && s.secret === null)).toBe(true);
    const work = await c.pmap((x: number) => ({ x: x * 2, rank: process.env.BPROC_RANK }), [1, 2, 3, 4, 5, 6]);
    expect(work.map((w) => w.x)).toEqual([2, 4, 6, 8, 10, 12]);
    // One `bpsh NODE sh -c … node …/main.js` per worker, on the nodes of beomap's map.
    const running = bpshCommands();
    expect(running.map((words) => words[0]).sort()).toEqual([...nodes].sort());
    expect(running.every((words) => words[1] === 'sh' && words.includes(process.execPath) && words.at(-1)!.endsWith('worker/main.js'))).toBe(true);
    await c.close();
    // bpsh ended, and the remote workers with it only because `bpsh NODE kill PID` ran.
    const kills = () => sim.invocations().filter((e) => e.command === 'bpsh' && e.argv[1] === 'kill');
    await eventually(() => expect(kills().map((e) => e.argv[2])).toEqual(expect.arrayContaining(seen.map((s) => String(s.pid)))));
    await eventually(() => expect(seen.filter((s) => alive(s.pid))).toEqual([]));
    await eventually(() => expect(sim.processes()).toEqual([]));
  });

  it('rmprocs of a worker that cannot answer: `bpsh NODE kill PID` ends it on its node (killing bpsh alone would not)', async () => {
    const c = new Cluster({ logger: quiet, onOutput: () => {}, secret, shutdownGraceMs: 500 });
    open.push(c);
    const [id] = await c.addprocs(new ScyldManager(1, base));
    const pid = c.worker(id!).pid;
    // Busy for ever: it never reads the request to exit.
    void c
      .remotecallFetch(id!, () => {
        for (;;);
      })
      .catch(() => undefined);
    await c.rmprocs([id!]);
    await eventually(() => expect(alive(pid)).toBe(false));
    expect(sim.invocations().some((e) => e.command === 'bpsh' && e.argv[1] === 'kill' && e.argv[2] === String(pid))).toBe(true);
  });

  it('the secret reaches the workers only through the 0600 file: not in any bpsh command line or simulator file', async () => {
    const c = cluster();
    await c.addprocs(new ScyldManager(2, base));
    const lines = sim.invocations().map((e) => JSON.stringify(e.argv));
    expect(lines.some((l) => l.includes(secret))).toBe(false);
    for (const file of walk(sim.dir)) expect(readFileSync(file, 'utf8').includes(secret), file).toBe(false);
  });

  it('options reach bpsh and beomap (the simulator’s record)', async () => {
    const c = cluster();
    const before = sim.invocations().length;
    await c.addprocs(new ScyldManager(2, { ...base, L: true, b: 8192, exclude: '0,1', bpshFlags: ['-n'] }));
    expect(
      sim
        .invocations()
        .slice(before)
        .find((e) => e.command === 'beomap')?.argv,
    ).toEqual(['--no-local', '--np', '2', '--exclude', '0,1']);
    const runs = bpshCommands();
    expect(runs.map((words) => words.slice(0, 4))).toEqual([
      ['-L', '-b', '8192', '-n'],
      ['-L', '-b', '8192', '-n'],
    ]);
    expect(runs.map((words) => words[4]).sort()).toEqual(['2', '3']);
  });

  it('beomap failing (no node up) is a SchedulerError naming what beomap said and what to do', async () => {
    const c = cluster();
    sim.inject({ nodes: { 0: 'down', 1: 'down', 2: 'down', 3: 'error' } });
    const error = await c.addprocs(new ScyldManager(2, base)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('SchedulerError');
    expect(error?.message).toMatch(/beomap could not place 2 workers \(it failed\): "beomap: no compute nodes are up.*" — no compute node is up and usable/);
    expect(bpshCommands()).toEqual([]);
  });

  it('noOver reaches beomap as NO_OVER in its environment (it has no flag): more workers than CPUs is refused', async () => {
    const c = cluster();
    // Four nodes of two CPUs: nine workers would put two on some CPU.
    const error = await c.addprocs(new ScyldManager(9, { ...base, noOver: true })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('SchedulerError');
    expect(error?.message).toMatch(/^beomap could not place 9 workers \(it failed\): "beomap: 9 process\(es\) need more CPUs than the 8 available/);
    expect(bpshCommands()).toEqual([]);
  });

  it('a node that refuses the user fails the launch with a hint, and leaves no worker behind', async () => {
    const c = cluster();
    // An explicit job map (BEOWULF_JOB_MAP) names node 1, which refuses the caller.
    const manager = new ScyldManager(2, { ...base });
    process.env.BEOWULF_JOB_MAP = '1:2';
    try {
      sim.inject({ refuse: [1] });
      const error = await c.addprocs(manager).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name).toBe('LaunchError');
      expect(error?.message).toMatch(/`bpsh 1 .*\(worker \d on 1\) exited with code 1 before its workers joined .* — a node refuses your user/);
      expect((error as Error & { stderrTail?: string }).stderrTail).toMatch(/1: Operation not permitted/);
    } finally {
      delete process.env.BEOWULF_JOB_MAP;
    }
    await c.close();
    await eventually(() => expect(sim.processes()).toEqual([]));
  });

  it('a node that is down fails the launch with a hint', async () => {
    const c = cluster();
    process.env.BEOWULF_JOB_MAP = '2:3';
    try {
      sim.inject({ nodes: { 3: 'down' } });
      const error = await c.addprocs(new ScyldManager(2, base)).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(/\(worker 1 on 3\) exited with code 1 before its workers joined .* — a node is not up/);
    } finally {
      delete process.env.BEOWULF_JOB_MAP;
    }
    await c.close();
    await eventually(() => expect(sim.processes()).toEqual([]));
  });

  it('a remote worker killed on its node: WorkerLostError says how its bpsh ended', async () => {
    const c = cluster();
    const [id] = await c.addprocs(new ScyldManager(1, base));
    const call = c
      .remotecallFetch(id!, () => new Promise(() => {}))
      .then(
        () => undefined,
        (e: Error & { detail?: string }) => e,
      );
    process.kill(c.worker(id!).pid, 'SIGKILL');
    const error = await call;
    expect(error?.name).toBe('WorkerLostError');
    expect(error?.detail).toMatch(/the scyld command that ran it \(`bpsh 0 .*`\) ended: exited with code 255/);
  });

  // Workers that never join: node waits a minute before loading the worker.
  const slow = { ...base, nodeArgs: ['--import', 'data:text/javascript,await new Promise((r) => setTimeout(r, 60000))'] };

  it('a launch timeout and an abort (Ctrl-C) fail the launch and stop every bpsh', async () => {
    const c = cluster();
    const timedOut = await c.addprocs(new ScyldManager(2, slow), { timeoutMs: 3_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(timedOut?.message).toMatch(/timed out .* with 0 of 2 workers joined/);
    expect(bpshCommands()).toEqual([]);
    const controller = new AbortController();
    const aborted = c.addprocs(new ScyldManager(2, slow), { signal: controller.signal }).then(
      () => undefined,
      (e: Error) => e,
    );
    await eventually(() => expect(bpshCommands()).toHaveLength(2));
    controller.abort();
    expect(await aborted).toBeDefined();
    await eventually(() => expect(bpshCommands()).toEqual([]));
  });

  // The shell on the node announces its pid before it becomes the worker, so the machinery can
  // stop a worker that never joined (killing bpsh alone would leave it running).
  it('a launch timeout also ends the remote workers that had not joined', async () => {
    const c = cluster();
    const before = new Set(sim.processes());
    await c.addprocs(new ScyldManager(2, slow), { timeoutMs: 3_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    await eventually(() => expect(sim.processes().filter((pid) => !before.has(pid))).toEqual([]), 5_000);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(file) : entry.isFile() ? [file] : [];
  });
}
