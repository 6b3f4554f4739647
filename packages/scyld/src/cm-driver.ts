/**
 * The `cmDriver` descriptor of @cm/scyld, so the `cm` command line can make its managers
 * (`cm script scyld`, `cm doctor scyld`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { ScyldManager } from './scyld-manager.js';
import { scyldOptionsSchema, scyldSettingsSchema } from './driver.js';

export const cmDriver: CmDriver = {
  name: 'scyld',
  description: 'workers on Scyld compute nodes (beomap + bpsh)',
  optionsSchema: scyldOptionsSchema.extend(scyldSettingsSchema.shape),
  create: (np, options) => new ScyldManager(np ?? 1, options),
};
