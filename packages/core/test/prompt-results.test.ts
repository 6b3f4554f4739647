/**
 * A worker writes the results of the calls it read together in one write, but a result is not
 * held behind long work: after a call that held its thread, its result goes out before the
 * next call read with it runs. (The second call here can only finish early if the master has
 * the first result while it runs.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalManager, moduleFunction } from '../src/index.js';
import { testCluster } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('results of calls read together', () => {
  it('the result of a long call reaches the master while the next call read with it still runs', async () => {
    const cluster = testCluster();
    const [id] = await cluster.addprocs(new LocalManager(1));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-prompt-'));
    dirs.push(dir);
    const signal = path.join(dir, 'first-result-arrived');
    const blockFor = moduleFunction('./fixtures/tasks.mjs', 'blockFor', new URL('./', import.meta.url));
    const blockUntilFile = moduleFunction('./fixtures/tasks.mjs', 'blockUntilFile', new URL('./', import.meta.url));
    // Both calls are sent in the same tick, so they go out in one write and are read together.
    const first = cluster.remotecallFetch(id!, blockFor, 50).then(() => writeFileSync(signal, ''));
    const second = cluster.remotecallFetch(id!, blockUntilFile, signal, 5_000);
    await first;
    expect(await second).toBe(true);
  });
});
