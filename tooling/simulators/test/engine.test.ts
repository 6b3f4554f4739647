// The shared engine on its own: task spawning, concurrency, delivery, cancel, hooks, injection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { cancel, createJob, killAll, liveProcesses, nextJobId, takeInjection, taskRecords, readJob, writeInjection } from '../engine.mjs';
import { waitFor } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-sim-engine-'));
});
afterEach(async () => {
  killAll(dir);
  await waitFor('no live processes', () => liveProcesses(dir).length === 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

const ended = (id: number) =>
  waitFor(`job ${id} ended`, () => {
    const records = taskRecords(dir, readJob(dir, id)!);
    return records.every((r: { state: string }) => r.state === 'ended') ? records : undefined;
  });

it('runs tasks in index order within maxRunning, with exact env and a clean environment', async () => {
  const log = path.join(dir, 'order');
  const id = nextJobId(dir);
  createJob(dir, {
    id,
    kind: 'test',
    maxRunning: 1,
    spawn: { argv: ['/bin/sh', '-c', `echo "start $I \${HOME-nohome}" >> ${log}; sleep 0.2; echo "end $I" >> ${log}`], cwd: dir, env: {} },
    tasks: [3, 1, 2].map((i) => ({ index: i, env: { I: String(i) } })),
  });
  const records = await ended(id);
  expect(records.map((r: { exitCode: number }) => r.exitCode)).toEqual([0, 0, 0]);
  expect(fs.readFileSync(log, 'utf8')).toBe('start 3 nohome\nend 3\nstart 1 nohome\nend 1\nstart 2 nohome\nend 2\n');
});

it('records spawn errors, delivers at end or directly, merges stderr into stdout', async () => {
  const id = nextJobId(dir, 100);
  expect(id).toBe(100);
  const out = (n: string) => path.join(dir, n);
  fs.writeFileSync(out('b'), 'before\n');
  createJob(dir, {
    id,
    kind: 'test',
    spawn: { argv: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 4'], cwd: dir, env: {}, stdout: { path: out('a') }, stderr: 'stdout' },
    tasks: [{ index: 0 }, { index: 1, delivery: 'direct', stdout: { path: out('b'), append: true } }, { index: 2, argv: [path.join(dir, 'missing')] }],
  });
  const [a, b, missing] = await ended(id);
  expect(a).toMatchObject({ exitCode: 4, cause: 'exit' });
  expect(b).toMatchObject({ exitCode: 4, cause: 'exit' });
  expect(missing).toMatchObject({ cause: 'spawn-error', errno: 'ENOENT', exitCode: null });
  expect(fs.readFileSync(out('a'), 'utf8')).toBe('out\nerr\n');
  expect(fs.readFileSync(out('b'), 'utf8')).toBe('before\nout\nerr\n');
});

it('cancel: pending tasks never start, running ones get the signal; hooks see both ends', async () => {
  const hook = path.join(dir, 'hook.mjs');
  const events = path.join(dir, 'events');
  fs.writeFileSync(
    hook,
    `import fs from 'node:fs';\nexport const start = ({ record }) => fs.appendFileSync(${JSON.stringify(events)}, 'start ' + record.index + '\\n');\nexport const end = ({ record }) => fs.appendFileSync(${JSON.stringify(events)}, 'end ' + record.index + ' ' + record.cause + '\\n');\n`,
  );
  const id = nextJobId(dir);
  createJob(dir, {
    id,
    kind: 'test',
    maxRunning: 1,
    spawn: { argv: ['/bin/sleep', '30'], cwd: dir, env: {} },
    tasks: [{ index: 0 }, { index: 1 }],
    onTaskStart: { module: hook, export: 'start' },
    onTaskEnd: { module: hook, export: 'end' },
  });
  await waitFor('task 0 running', () => taskRecords(dir, readJob(dir, id)!)[0].state === 'running');
  cancel(dir, id, { reason: 'test', signals: ['SIGTERM'], graceMs: 5000 });
  const [first, second] = await ended(id);
  expect(first).toMatchObject({ cause: 'cancelled', signal: 'SIGTERM', reason: 'test' });
  expect(second).toMatchObject({ cause: 'cancelled', exitCode: null });
  expect(second.startedAt).toBeUndefined();
  expect(fs.readFileSync(events, 'utf8')).toBe('start 0\nend 0 cancelled\n');
});

it('injection rules are consumed in order, per channel', () => {
  writeInjection(dir, { submit: [{ kind: 'refuse' }, { kind: 'transient', times: 2 }], pending: 'stuck' });
  const kinds = Array.from({ length: 4 }, () => takeInjection(dir, 'submit')?.kind);
  expect(kinds).toEqual(['refuse', 'transient', 'transient', undefined]);
  expect(takeInjection(dir, 'pending')?.kind).toBe('stuck');
  expect(takeInjection(dir, 'pending')?.kind).toBe('stuck');
  const id = nextJobId(dir);
  expect(createJob(dir, { id, kind: 'test', spawn: { argv: ['/bin/true'], cwd: dir, env: {} }, tasks: [{ index: null }] }).dispatch).toBe('stuck');
});
