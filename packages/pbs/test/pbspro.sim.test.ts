// @cm/pbs against the PBS Professional / OpenPBS simulator (tooling/simulators, pbs.md):
// the shared conformance suite, then the cases specific to PBS.
import { fileURLToPath } from 'node:url';
import { describeBatchDriver } from '@cm/core/testing';
import { afterAll, describe, it } from 'vitest';
import { PBSManager } from '../src/index.js';
import { useSimulator } from './simulator.js';
import { pbsCases } from './cases.js';

const env = useSimulator('pbspro', { queues: ['workq', 'debug'] });
afterAll(() => env.close());

describe('PBS Pro (simulated)', () => {
  describeBatchDriver(
    { describe, it },
    {
      name: 'pbs pro',
      create: (np, options) => new PBSManager(np, options),
      baseOptions: { logDir: env.logDir, queue: 'workq', walltime: '00:10:00' },
      pendingOptions: { h: '' },
      refusedOptions: { options: { queue: 'nosuch' }, message: /qsub refused the job: "qsub: Unknown queue" — check `queue`/ },
      managerModule: { path: fileURLToPath(new URL('../dist/index.js', import.meta.url)), exportName: 'PBSManager' },
      timeoutMs: 90_000,
      additionalTests: (context) => pbsCases(context, env, 'pro'),
    },
  );
});
