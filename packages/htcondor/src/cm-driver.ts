/**
 * The `cmDriver` descriptor of @cm/htcondor, so the `cm` command line can make its managers
 * (`cm script htcondor`, `cm doctor htcondor`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { HTCManager } from './htcondor-manager.js';
import { htcondorOptionsSchema, htcondorSettingsSchema } from './options.js';

export const cmDriver: CmDriver = {
  name: 'htcondor',
  description: 'workers as HTCondor jobs (condor_submit)',
  optionsSchema: htcondorOptionsSchema.extend(htcondorSettingsSchema.shape),
  create: (np, options) => new HTCManager(np ?? 1, options),
};
