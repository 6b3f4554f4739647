// Compatibility across builds: a worker of core N.m with a master of N.m+1 and the other way
// round, a worker one minor older (no Cancel frame), and a major mismatch refused with both
// versions named. Each "other build" is a copy of this package's dist with PROTOCOL_VERSION
// patched — the same code a release with that version would ship, loaded as a second copy
// of core (a master from one copy, workers from the other's cm-worker).
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ResultPromise, execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Core from '../src/index.js';
import type { ClusterManager, LaunchContext } from '../src/driver.js';
import { PROTOCOL_VERSION } from '../src/index.js';
import { HEARTBEAT_PACE_MIN_MINOR, PEER_CALLS_MIN_MINOR } from '../src/protocol/version.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(path.join(os.tmpdir(), 'cm-compat-'));
const { major, minor }: { major: number; minor: number } = PROTOCOL_VERSION;

interface Build {
  version: string;
  core: typeof Core;
  workerMain: string;
}

/** A copy of the built package whose protocol version is `v`. */
async function buildWith(v: { major: number; minor: number }): Promise<Build> {
  const dir = path.join(work, `core-${v.major}.${v.minor}`);
  // Without source maps: they name this package's src/, which the copy does not have.
  cpSync(path.join(packageDir, 'dist'), path.join(dir, 'dist'), { recursive: true, filter: (from) => !from.endsWith('.map') });
  for (const entry of readdirSync(path.join(dir, 'dist'), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.js'))) {
    const js = path.join(dir, 'dist', entry);
    writeFileSync(js, readFileSync(js, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '\n'));
  }
  cpSync(path.join(packageDir, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(packageDir, 'node_modules'), path.join(dir, 'node_modules'));
  const file = path.join(dir, 'dist', 'protocol', 'version.js');
  const source = readFileSync(file, 'utf8');
  const patched = source.replace(`PROTOCOL_VERSION = { major: ${major}, minor: ${minor} }`, `PROTOCOL_VERSION = { major: ${v.major}, minor: ${v.minor} }`);
  if (patched === source) throw new Error(`cannot find PROTOCOL_VERSION ${major}.${minor} in ${file}`);
  writeFileSync(file, patched);
  return { version: `${v.major}.${v.minor}`, core: (await import(pathToFileURL(path.join(dir, 'dist', 'index.js')).href)) as typeof Core, workerMain: path.join(dir, 'dist', 'worker', 'main.js') };
}

/** Workers from another build's cm-worker: what a site with mixed versions runs. */
class OtherBuildManager implements ClusterManager {
  readonly name = 'other-build';
  readonly #children: ResultPromise[] = [];
  readonly stderr: string[] = [];
  constructor(
    readonly workerMain: string,
    readonly expectedWorkers: number,
  ) {}

  async launch(context: LaunchContext): Promise<void> {
    for (let index = 0; index < this.expectedWorkers; index++) {
      const child = execa(process.execPath, [this.workerMain], { env: { ...context.workerEnv, CM_TASK_INDEX: String(index) }, reject: false, stdin: 'ignore' });
      this.#children.push(child);
      void child.then((result) => {
        this.stderr.push(String(result.stderr));
        if (context.joined() < this.expectedWorkers && !context.signal.aborted) context.fail(new Error(`worker ${index} exited (${result.exitCode}) before joining: ${String(result.stderr).trim()}`));
      });
    }
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    for (const child of this.#children) child.kill();
    await Promise.all(this.#children);
  }
}

/** A logger that keeps debug lines: the master logs the protocol each handshake settled on. */
function recordingLogger() {
  const lines: string[] = [];
  const keep = (m: string | (() => string)) => lines.push(typeof m === 'function' ? m() : m);
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}

let current: Build;
let nextMinor: Build;
let previousMinor: Build | undefined;
/** A build of the last minor without calls from workers. */
let beforePeerCalls: Build | undefined;
/** A build of the last minor without the heartbeat pace. */
let beforePace: Build | undefined;
let nextMajor: Build;
beforeAll(async () => {
  current = { version: `${major}.${minor}`, core: await import('../src/index.js'), workerMain: path.join(packageDir, 'dist', 'worker', 'main.js') };
  nextMinor = await buildWith({ major, minor: minor + 1 });
  previousMinor = minor > 0 ? await buildWith({ major, minor: minor - 1 }) : undefined;
  beforePeerCalls = minor < PEER_CALLS_MIN_MINOR ? undefined : minor - 1 === PEER_CALLS_MIN_MINOR - 1 ? previousMinor : await buildWith({ major, minor: PEER_CALLS_MIN_MINOR - 1 });
  beforePace = minor < HEARTBEAT_PACE_MIN_MINOR ? undefined : minor - 1 === HEARTBEAT_PACE_MIN_MINOR - 1 ? previousMinor : await buildWith({ major, minor: HEARTBEAT_PACE_MIN_MINOR - 1 });
  nextMajor = await buildWith({ major: major + 1, minor: 0 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run calls from `master`'s Cluster on two workers of `worker`'s build; returns what the master logged. */
async function exercise(master: Build, worker: Build): Promise<string[]> {
  const logger = recordingLogger();
  const cluster = new master.core.Cluster({ logger, logLevel: 'debug', onOutput: () => {} });
  try {
    const ids = await cluster.addprocs(new OtherBuildManager(worker.workerMain, 2), { timeoutMs: 20_000 });
    expect(ids).toHaveLength(2);
    expect(await cluster.pmap((x: number) => x * 3, [1, 2, 3, 4])).toEqual([3, 6, 9, 12]);
    // A call given up on: rejects at the master, and the session carries on.
    const slow = cluster.remotecallFetch({ worker: ids[0]!, timeoutMs: 100 }, () => new Promise((resolve) => setTimeout(resolve, 2_000)));
    await expect(slow).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await cluster.remotecallFetch(ids[0]!, () => 'still talking')).toBe('still talking');
  } finally {
    await cluster.close();
  }
  return logger.lines;
}

describe(`protocol compatibility within major ${major}`, () => {
  it(`a master of ${major}.${minor + 1} runs calls on workers of ${major}.${minor}, speaking ${major}.${minor}`, async () => {
    const lines = await exercise(nextMinor, current);
    expect(lines.filter((l) => l.includes(`protocol ${major}.${minor})`))).toHaveLength(2);
  });

  it(`a master of ${major}.${minor} runs calls on workers of ${major}.${minor + 1}, speaking ${major}.${minor}`, async () => {
    const lines = await exercise(current, nextMinor);
    expect(lines.filter((l) => l.includes(`protocol ${major}.${minor})`))).toHaveLength(2);
  });

  it.skipIf(minor === 0)(`a master of ${major}.${minor} runs calls on workers of ${major}.${minor - 1} (an older minor), speaking ${major}.${minor - 1}`, async () => {
    const lines = await exercise(current, previousMinor!);
    expect(lines.filter((l) => l.includes(`protocol ${major}.${minor - 1})`))).toHaveLength(2);
  });

  it.skipIf(minor < PEER_CALLS_MIN_MINOR)(
    `a worker of ${major}.${minor} under a master of ${major}.${PEER_CALLS_MIN_MINOR - 1} (no calls from workers): its calls fail naming the versions, and the session carries on`,
    async () => {
      const cluster = new beforePeerCalls!.core.Cluster({ logger: recordingLogger(), onOutput: () => {} });
      try {
        const [id] = await cluster.addprocs(new OtherBuildManager(current.workerMain, 1), { timeoutMs: 20_000 });
        const outcome = await cluster.remotecallFetch(id!, async () => {
          try {
            await (globalThis as unknown as { remotecallFetch(target: number, fn: () => number): Promise<number> }).remotecallFetch(1, () => 1);
            return 'answered';
          } catch (error) {
            return `${(error as Error).name}: ${(error as Error).message}`;
          }
        });
        expect(outcome).toMatch(new RegExp(`^UsageError: remotecallFetch: the master speaks protocol ${major}\\.${PEER_CALLS_MIN_MINOR - 1}, which has no calls from workers`));
        expect(await cluster.remotecallFetch(id!, () => 'still talking')).toBe('still talking');
      } finally {
        await cluster.close();
      }
    },
  );

  it.skipIf(minor === 0)(`with topology 'all_to_all', a worker of ${major}.${minor - 1} joins and is called through the master`, async () => {
    const cluster = new current.core.Cluster({ topology: 'all_to_all', logger: recordingLogger(), onOutput: () => {} });
    try {
      const [older] = await cluster.addprocs(new OtherBuildManager(previousMinor!.workerMain, 1), { timeoutMs: 20_000 });
      const [newer] = await cluster.addprocs(new OtherBuildManager(current.workerMain, 1), { timeoutMs: 20_000 });
      const outcome = await cluster.remotecallFetch(
        newer!,
        (target: number) => (globalThis as unknown as { remotecallFetch(target: number, fn: () => string): Promise<string> }).remotecallFetch(target, () => 'from the older worker'),
        older!,
      );
      expect(outcome).toBe('from the older worker');
      expect(cluster.workers()).toEqual([older, newer]);
    } finally {
      await cluster.close();
    }
  });

  it.skipIf(minor < HEARTBEAT_PACE_MIN_MINOR)(
    `a master of ${major}.${minor} whose heartbeat pace has grown keeps workers of ${major}.${HEARTBEAT_PACE_MIN_MINOR - 1} at the configured one: none is lost`,
    async () => {
      // Half a heartbeat per interval allowed: the factor is twice the number of workers. The
      // workers of 1.3 join a cluster of three, whose pace is 400 ms / 3.2 s; one given it
      // would be lost after the 400 ms that hold for it.
      const cluster = new current.core.Cluster({ heartbeat: { intervalMs: 50, timeoutMs: 400, maxPerSecond: 10 }, logger: recordingLogger(), onOutput: () => {} });
      const lost: number[] = [];
      cluster.on('worker-lost', (worker) => lost.push(worker.id));
      try {
        const newer = await cluster.addprocs(new OtherBuildManager(current.workerMain, 3), { timeoutMs: 20_000 });
        const older = await cluster.addprocs(new OtherBuildManager(beforePace!.workerMain, 2), { timeoutMs: 20_000 });
        // Three of the configured timeouts.
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        expect(lost).toEqual([]);
        expect(cluster.workers()).toEqual([...newer, ...older]);
        expect(await cluster.pmap((x: number) => x + 1, [1, 2, 3])).toEqual([2, 3, 4]);
      } finally {
        await cluster.close();
      }
    },
  );

  it(`a worker of ${major + 1}.0 is refused, with a message naming both versions`, async () => {
    const cluster = new current.core.Cluster({ logger: recordingLogger(), onOutput: () => {} });
    const rejected: string[] = [];
    cluster.on('peer-rejected', ({ reason }) => rejected.push(reason));
    const manager = new OtherBuildManager(nextMajor.workerMain, 1);
    try {
      const error = await cluster.addprocs(manager, { timeoutMs: 20_000 }).then(
        () => undefined,
        (e: Error) => e,
      );
      const both = `master speaks ${major}.${minor}, worker speaks ${major + 1}.0; install the same major version of @cm/core on the master and the workers`;
      expect(error?.message).toContain(both);
      expect(rejected.some((reason) => reason.includes(both))).toBe(true);
    } finally {
      await cluster.close();
    }
  });
});
