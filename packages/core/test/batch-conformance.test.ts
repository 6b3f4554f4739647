// The shared batch-driver suite against simq, the simulated scheduler: the reference run that
// every driver's own test file repeats against its scheduler.
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { SimulatedQueueManager, describeBatchDriver } from '../src/testing/index.js';

const logDir = path.join(os.tmpdir(), `cm-batch-test-${process.pid}`);
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

describeBatchDriver(
  { describe, it },
  {
    name: 'simq',
    create: (np, options) => new SimulatedQueueManager(np, options),
    baseOptions: { logDir },
    pendingOptions: { hold: true },
    refusedOptions: { options: { queue: 'nope' }, message: /invalid queue specified: nope.* — check `queue`/ },
    managerModule: { path: fileURLToPath(new URL('../dist/testing/index.js', import.meta.url)), exportName: 'SimulatedQueueManager' },
    clusterOptions: { host: '127.0.0.1' },
  },
);
