// The shared batch-driver suite against simq, the simulated scheduler, in every shape a real
// scheduler has (arrays from 0 or 1, the script on stdin, a submit file of its own, one placed
// command per worker): the reference run that every driver's own test file repeats.
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { SimulatedQueueManager, describeBatchDriver } from '../src/testing/index.js';

const logDir = path.join(os.tmpdir(), `cm-batch-test-${process.pid}`);
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

const managerModule = { path: fileURLToPath(new URL('../dist/testing/index.js', import.meta.url)), exportName: 'SimulatedQueueManager' };
const queued = {
  pendingOptions: { hold: true },
  refusedOptions: { options: { queue: 'nope' }, message: /invalid queue specified: nope.* — check `queue`/ },
};

for (const variant of ['default', 'one-based', 'stdin', 'submit-file'] as const) {
  describeBatchDriver(
    { describe, it },
    {
      name: `simq (${variant})`,
      create: (np, options) => new SimulatedQueueManager(np, { ...options, variant }),
      baseOptions: { logDir },
      ...queued,
      managerModule: variant === 'default' ? managerModule : undefined,
      clusterOptions: { host: '127.0.0.1' },
    },
  );
}

describeBatchDriver(
  { describe, it },
  {
    name: 'simq (processes)',
    create: (np, options) => new SimulatedQueueManager(np, { ...options, variant: 'processes' }),
    baseOptions: { logDir },
    clusterOptions: { host: '127.0.0.1' },
  },
);
