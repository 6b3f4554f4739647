/**
 * simq's `cmDriver` descriptor, so `cm script simq`, `cm doctor simq`… work without a real
 * scheduler — what core's own command-line tests run against.
 * @module
 */
import type { CmDriver } from '../cli/descriptor.js';
import { SimulatedQueueManager, simulatedOptionsSchema } from './simulated.js';

export const cmDriver: CmDriver = {
  name: 'simq',
  description: 'simq, the simulated batch scheduler of @cm/core/testing (jobs run on this machine)',
  optionsSchema: simulatedOptionsSchema,
  create: (np, options) => new SimulatedQueueManager(np ?? 1, options),
};
