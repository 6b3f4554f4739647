/**
 * The `cmDriver` descriptor of @cm/lsf, so the `cm` command line can make its managers
 * (`cm script lsf`, `cm doctor lsf`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { LSFManager } from './lsf-manager.js';
import { lsfOptionsSchema, lsfSettingsSchema } from './driver.js';

export const cmDriver: CmDriver = {
  name: 'lsf',
  description: 'workers as LSF jobs (bsub)',
  optionsSchema: lsfOptionsSchema.extend(lsfSettingsSchema.shape),
  create: (np, options) => new LSFManager(np ?? 1, options),
};
