import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { Cluster } from '@cm/core';
import { workerEntryPath } from '@cm/core/driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ElasticManager, loadOrCreateSecret } from '../src/index.js';
import { killWorker, nextEvent, printedCommand, runInShell, startWorker, stopAll } from './worker-processes.js';

let dir: string;
let cluster: Cluster | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cm-elastic-'));
});
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function newCluster(secret?: string, topology?: 'all_to_all'): Cluster {
  cluster = new Cluster({ onOutput: () => {}, logger: { debug() {}, info() {}, warn() {}, error() {} }, ...(secret ? { secret } : {}), ...(topology ? { topology } : {}) });
  return cluster;
}

/** Records the manager's events in order, as `joined 2`, `lost 2`, … */
function recordEvents(manager: ElasticManager): string[] {
  const events: string[] = [];
  manager.on('worker-joined', (w) => events.push(`joined ${w.id}`));
  manager.on('worker-left', (w, reason) => events.push(`${reason} ${w.id}`));
  return events;
}

describe('ElasticManager with workers started from the printed command', () => {
  it('prints the exact command, with the secret in a 0600 file and never on the line', async () => {
    const secret = randomBytes(32).toString('base64url');
    const c = newCluster(secret);
    const manager = new ElasticManager({ addr: '127.0.0.1', port: 0, secretFile: path.join(dir, 'secret') });
    expect(await c.addprocs(manager)).toEqual([]);

    const { port } = manager.address;
    expect(port).toBeGreaterThan(0);
    const text = inspect(manager);
    expect(text).toBe(String(manager));
    expect(text).toContain(`listening on 127.0.0.1:${port}`);
    const line = printedCommand(manager);
    expect(line).toBe(manager.connectCommand());
    expect(line).toBe(
      `cd ${process.cwd()} && env CM_MASTER_HOST=127.0.0.1 CM_MASTER_PORT=${port} CM_LAUNCH_ID=${/CM_LAUNCH_ID=(\S+)/.exec(line)![1]} CM_SECRET_FILE=${dir}/secret ${process.execPath} ${workerEntryPath()}`,
    );
    expect(text).not.toContain(secret);
    expect(statSync(path.join(dir, 'secret')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'secret'), 'utf8').trim()).toBe(secret);

    expect(manager.connectCommand({ absoluteExe: false, sameCwd: false })).toMatch(new RegExp(`^env CM_MASTER_HOST=127\\.0\\.0\\.1 .* node ${workerEntryPath()}$`));
  });

  it("with the Cluster's topology 'all_to_all', elastic workers listen and call each other directly", async () => {
    const c = newCluster(undefined, 'all_to_all');
    const manager = new ElasticManager({ addr: '127.0.0.1', secretFile: path.join(dir, 'secret') });
    await c.addprocs(manager);
    const line = printedCommand(manager);
    const first = await startWorker(manager, line);
    const second = await startWorker(manager, line);
    const addressOf = (id: number) => (globalThis as unknown as Record<symbol, { direct?: { addressOf(id: number): string | undefined } }>)[Symbol.for('@cm/core.peerClient')]!.direct?.addressOf(id);
    let address: string | undefined;
    for (let attempt = 0; attempt < 200 && address === undefined; attempt++) {
      address = await c.remotecallFetch(first, addressOf, second);
      if (address === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const callsOnSecond = () => c.snapshot().workers.find((w) => w.id === second)!.callsDone;
    const before = callsOnSecond();
    const answer = await c.remotecallFetch(
      first,
      (target: number) => (globalThis as unknown as { remotecallFetch(target: number, fn: () => number): Promise<number> }).remotecallFetch(target, () => process.pid),
      second,
    );
    expect(answer).toBe(c.worker(second).pid);
    expect(callsOnSecond() - before).toBe(0); // not forwarded by the master
  });

  it('workers join at any time, leave when killed, and a restarted worker joins with a new id', async () => {
    const c = newCluster();
    const manager = new ElasticManager({ addr: '127.0.0.1', secretFile: path.join(dir, 'secret') });
    const events = recordEvents(manager);
    await c.addprocs(manager);
    const line = printedCommand(manager);

    const first = await startWorker(manager, line);
    const second = await startWorker(manager, line);
    expect(c.workers()).toEqual([first, second]);
    expect(manager.activeWorkers()).toEqual([first, second]);
    // They are real workers: each runs code and reports its own pid.
    expect(await c.remotecallFetch(first, () => process.pid)).toBe(c.worker(first).pid);

    const left = nextEvent(manager, 'worker-left');
    killWorker(c.worker(first).pid);
    const [gone, reason] = await left;
    expect(gone.id).toBe(first);
    expect(reason).toBe('lost');
    expect(c.workers()).toEqual([second]);
    expect(manager.activeWorkers()).toEqual([second]);
    expect(manager.terminatedWorkers().map((w) => [w.id, w.reason])).toEqual([[first, 'lost']]);

    const third = await startWorker(manager, line);
    const fourth = await startWorker(manager, line);
    expect(third).toBeGreaterThan(second);
    expect(c.workers()).toEqual([second, third, fourth]);
    expect(events).toEqual([`joined ${first}`, `joined ${second}`, `lost ${first}`, `joined ${third}`, `joined ${fourth}`]);

    const text = String(manager);
    expect(text).toContain(`active workers: ${second}, ${third}, ${fourth}`);
    expect(text).toContain(`terminated workers: ${first}`);
    expect(text).toContain('workers expected: 0');

    await c.rmprocs(third);
    expect(manager.terminatedWorkers().map((w) => [w.id, w.reason])).toEqual([
      [first, 'lost'],
      [third, 'removed'],
    ]);
    expect(await c.pmap((x: number) => x + 1, [1, 2, 3])).toEqual([2, 3, 4]);
  });

  it('refuses a worker with the wrong secret and keeps serving', async () => {
    const c = newCluster();
    const manager = new ElasticManager({ addr: '127.0.0.1', secretFile: path.join(dir, 'secret') });
    await c.addprocs(manager);
    const wrongSecretFile = path.join(dir, 'wrong');
    writeFileSync(wrongSecretFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    const line = printedCommand(manager);

    const rejected = once(c, 'peer-rejected', { signal: AbortSignal.timeout(15_000) });
    const impostor = runInShell(line.replace(`CM_SECRET_FILE=${path.join(dir, 'secret')}`, `CM_SECRET_FILE=${wrongSecretFile}`));
    const [rejection] = (await rejected) as [{ reason: string }];
    expect(rejection.reason).toMatch(/authentication failed/);
    expect((await impostor).exitCode).not.toBe(0);
    expect(manager.activeWorkers()).toEqual([]);
    expect(c.workers()).toEqual([]);

    const id = await startWorker(manager, line);
    expect(c.workers()).toEqual([id]);
  });

  it('with encrypt: true the printed command carries the TLS setting, and a worker started with exactly it joins', async () => {
    cluster = new Cluster({ encrypt: true, onOutput: () => {}, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const manager = new ElasticManager({ addr: '127.0.0.1', secretFile: path.join(dir, 'secret') });
    await cluster.addprocs(manager);
    const line = printedCommand(manager);
    expect(line).toMatch(/ CM_TLS=1 /);
    const id = await startWorker(manager, line);
    expect(await cluster.remotecallFetch(id, () => 'over TLS')).toBe('over TLS');
    // Without encryption the line has no TLS switch (a plain worker then joins a plain master).
    expect(line.replace(' CM_TLS=1', '')).not.toMatch(/CM_TLS/);
  });

  it('with np, addprocs waits for that many workers; a relative `node` command works', async () => {
    const c = newCluster();
    const manager = new ElasticManager({ addr: '127.0.0.1', np: 2, secretFile: path.join(dir, 'secret'), printing: { absoluteExe: false, sameCwd: false } });
    const ready = nextEvent(manager, 'ready');
    const adding = c.addprocs(manager, { timeoutMs: 20_000 });
    const [{ command, port }] = await ready;
    expect(command).toMatch(/^env .* node /);
    expect(command).toBe(printedCommand(manager));
    expect(port).toBe(manager.address.port);
    let resolved = false;
    void adding.then(() => (resolved = true));
    const first = await startWorker(manager, command);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(resolved).toBe(false);
    const second = await startWorker(manager, command);
    expect(await adding).toEqual([first, second]);
  });

  it('writes the secret under ~/.cm by default and removes it on close; a second addprocs is refused', async () => {
    const home = process.env['HOME'];
    process.env['HOME'] = dir;
    const c = newCluster();
    const manager = new ElasticManager({ addr: '127.0.0.1' });
    try {
      await c.addprocs(manager);
    } finally {
      process.env['HOME'] = home;
    }
    const secretFile = manager.secretFile!;
    expect(path.dirname(secretFile)).toBe(path.join(dir, '.cm'));
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);

    await expect(c.addprocs(manager)).rejects.toThrow(/serves one addprocs/);
    // The refused second launch did not end the first.
    const id = await startWorker(manager, printedCommand(manager));
    expect(c.workers()).toEqual([id]);

    await c.close();
    expect(existsSync(secretFile)).toBe(false);
    expect(manager.terminatedWorkers().map((w) => [w.id, w.reason])).toEqual([[id, 'removed']]);
    expect(String(manager)).toContain('[closed]');
  });

  it("uses a site's stable secret file as it is, and refuses one that does not match the cluster", async () => {
    const secretFile = path.join(dir, 'site', 'elastic.secret');
    const c = newCluster(await loadOrCreateSecret(secretFile));
    const before = readFileSync(secretFile, 'utf8');
    const manager = new ElasticManager({ addr: '127.0.0.1', secretFile });
    await c.addprocs(manager);
    const id = await startWorker(manager, printedCommand(manager));
    expect(c.workers()).toEqual([id]);
    await c.close();
    // Still there, unchanged, for the site's scripts and the next master.
    expect(readFileSync(secretFile, 'utf8')).toBe(before);

    const other = newCluster();
    await expect(other.addprocs(new ElasticManager({ addr: '127.0.0.1', secretFile }))).rejects.toThrow(/holds a different secret than this Cluster; create the Cluster with it/);
  });
});
