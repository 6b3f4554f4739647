/**
 * The `cmDriver` descriptor of @cm/sge, so the `cm` command line can make its managers
 * (`cm script sge`, `cm doctor sge`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { SGEManager } from './sge-manager.js';
import { sgeOptionsSchema, sgeSettingsSchema } from './options.js';

export const cmDriver: CmDriver = {
  name: 'sge',
  description: 'workers as Grid Engine jobs (qsub)',
  optionsSchema: sgeOptionsSchema.extend(sgeSettingsSchema.shape),
  create: (np, options) => new SGEManager(np ?? 1, options),
};
