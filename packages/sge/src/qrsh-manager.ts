/**
 * QRSHManager: workers started with one `qrsh -now no -V …` each — no job script and no job
 * logs on the shared filesystem; each worker's output comes back through its qrsh.
 * @module
 */
import { type AddprocsOptions, type Cluster } from '@cm/core';
import { JobQueueManager } from '@cm/core/driver';
import { QRSH_OPTION_NAMES, SGE_ALIASES, sgeOptionsSchema, sgeSettingsSchema, type SgeSettings } from './options.js';
import { qrshDriver } from './qrsh.js';
import type { SgeOptions } from './sge-manager.js';

/**
 * Starts `np` workers through Grid Engine's qrsh, one interactive job each.
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * await cluster.addprocs(new QRSHManager(4, { queue: 'all.q', resources: 'h_vmem=4G' }));
 * ```
 */
export class QRSHManager extends JobQueueManager {
  /** @throws UsageError naming the invalid option and where it was set */
  constructor(np: number, options: SgeOptions = {}) {
    super(np, options, {
      name: 'sge',
      driver: (settings) => qrshDriver(settings as SgeSettings),
      flagSchema: sgeOptionsSchema,
      flagNames: QRSH_OPTION_NAMES,
      settingsSchema: sgeSettingsSchema,
      aliases: SGE_ALIASES,
    });
  }
}

/**
 * `cluster.addprocs(new QRSHManager(np, options), addprocsOptions)` (ClusterManagers.jl's
 * `addprocs(QRSHManager(np, queue))`).
 * @returns the new workers' ids
 */
export function addprocsQrsh(cluster: Cluster, np: number, options: SgeOptions = {}, addprocsOptions: AddprocsOptions = {}): Promise<number[]> {
  return cluster.addprocs(new QRSHManager(np, options), addprocsOptions);
}
