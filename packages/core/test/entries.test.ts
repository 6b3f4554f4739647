// The three entries of @cm/core by audience (docs/writing-a-driver.md#where-to-import-from):
// the user entry stays small and free of driver internals and of names that shadow globals;
// the driver and testing entries carry what driver authors need; package.json maps all three.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as driver from '../src/driver.js';
import * as user from '../src/index.js';
import * as testing from '../src/testing/index.js';

describe('entry points', () => {
  it('the user entry has the user API and no driver internals, and no export shadows a global', () => {
    for (const name of ['Cluster', 'LocalManager', 'Future', 'fetchFuture', 'moduleFunction', 'myid', 'currentSignal', 'UsageError', 'LaunchError', 'SchedulerError', 'WorkerLostError'])
      expect(user).toHaveProperty(name);
    for (const name of ['submitJob', 'kebabCase', 'snakeCase', 'sleep', 'backoffDelays', 'JobQueueManager', 'WorkerProcess', 'localRunner', 'renderJobScript', 'parseOptions'])
      expect(user).not.toHaveProperty(name);
    const shadowing = Object.keys(user).filter((name) => name in globalThis);
    expect(shadowing).toEqual([]);
  });

  it('the driver entry has the machinery, the testing entry the suite, simq and its cmDriver', () => {
    for (const name of ['JobQueueManager', 'WorkerProcess', 'localRunner', 'sshRunner', 'optionFlags', 'kebabCase', 'shellJoin', 'parseOptions', 'isQueueDriver', 'WORKER_ENV'])
      expect(driver).toHaveProperty(name);
    expect(testing).toHaveProperty('describeBatchDriver');
    expect(testing.cmDriver.name).toBe('simq');
    expect(testing.cmDriver.create(1, { progress: 'none' })).toBeInstanceOf(driver.JobQueueManager);
  });

  it('package.json maps each entry to its built file and types, and has the cm bin', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, { types: string; default: string }>; bin: Record<string, string> };
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(manifest.exports['./driver']).toEqual({ types: './dist/driver.d.ts', default: './dist/driver.js' });
    expect(manifest.exports['./testing']).toEqual({ types: './dist/testing/index.d.ts', default: './dist/testing/index.js' });
    expect(manifest.bin.cm).toBe('./dist/cli/main.js');
  });
});
