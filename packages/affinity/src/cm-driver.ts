/**
 * The `cmDriver` descriptor of @cm/affinity, so the `cm` command line can make its managers
 * (`cm script affinity`, `cm doctor affinity`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { LocalAffinityManager, localAffinityManagerOptionsSchema } from './affinity-manager.js';

export const cmDriver: CmDriver = {
  name: 'affinity',
  description: 'workers on this machine, each pinned to a CPU (taskset)',
  optionsSchema: localAffinityManagerOptionsSchema,
  create: (np, options) => new LocalAffinityManager({ ...options, np: np ?? 1 }),
};
