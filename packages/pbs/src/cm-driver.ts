/**
 * The `cmDriver` descriptor of @cm/pbs, so the `cm` command line can make its managers
 * (`cm script pbs`, `cm doctor pbs`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { PBSManager } from './pbs-manager.js';
import { pbsOptionsSchema, pbsSettingsSchema } from './options.js';

export const cmDriver: CmDriver = {
  name: 'pbs',
  description: 'workers as PBS Pro or Torque jobs (qsub)',
  optionsSchema: pbsOptionsSchema.extend(pbsSettingsSchema.shape),
  create: (np, options) => new PBSManager(np ?? 1, options),
};
