// @cm/pbs against the Torque simulator (tooling/simulators, pbs.md §7): the shared
// conformance suite, then the cases specific to PBS.
import { fileURLToPath } from 'node:url';
import { describeBatchDriver } from '@cm/core/testing';
import { afterAll, describe, it } from 'vitest';
import { PBSManager } from '../src/index.js';
import { pbsCases } from './cases.js';
import { useSimulator } from './simulator.js';

const env = useSimulator('torque', { queues: ['batch', 'debug'] });
afterAll(() => env.close());

describe('Torque (simulated)', () => {
  describeBatchDriver(
    { describe, it },
    {
      name: 'torque',
      create: (np, options) => new PBSManager(np, options),
      baseOptions: { logDir: env.logDir, queue: 'batch', walltime: '00:10:00' },
      pendingOptions: { h: '' },
      refusedOptions: { options: { queue: 'nosuch' }, message: /qsub refused the job: "qsub: submit error \(Unknown queue MSG=requested queue not found\)" — check `queue`/ },
      managerModule: { path: fileURLToPath(new URL('../dist/index.js', import.meta.url)), exportName: 'PBSManager' },
      timeoutMs: 90_000,
      additionalTests: (context) => pbsCases(context, env, 'torque'),
    },
  );
});
