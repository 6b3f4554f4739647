/**
 * ScyldManager: workers started on a Scyld ClusterWare (BProc) cluster — `beomap` chooses a
 * node for each, one `bpsh NODE` command runs each for as long as it lives, and
 * `bpsh NODE kill PID` ends it. Nothing is queued.
 * @module
 */
import { type AddprocsOptions, type Cluster } from '@cm/core';
import { type JobQueueOptions, JobQueueManager } from '@cm/core/driver';
import type { z } from 'zod';
import { BPSH_OPTION_NAMES, SCYLD_ALIASES, scyldDriver, scyldOptionsSchema, scyldSettingsSchema } from './driver.js';

/**
 * Options of {@link ScyldManager}: @cm's options that apply without a queue (`env`,
 * `nodeArgs`, `launchTimeoutMs`, `logDir` for the secret file, `host`/`port`…), bpsh's
 * options as one-letter keys (`L: true` → `-L`), free bpsh words in `bpshFlags`, and the
 * node-map settings `exclude` and `noOver`.
 * Site defaults come from `/etc/cm/config.json`, `~/.config/cm/config.json` (or `$CM_CONFIG`)
 * section `"scyld"`, and `CM_SCYLD_*` variables; these options override them.
 */
export type ScyldOptions = Omit<JobQueueOptions, 'layout' | 'inAllocation' | 'replaceBeforeWalltime'> &
  z.input<typeof scyldOptionsSchema> &
  z.input<typeof scyldSettingsSchema> & { bpshFlags?: string[] };

/**
 * Starts `np` workers on the compute nodes `beomap` chooses.
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * await cluster.addprocs(new ScyldManager(8, { exclude: '0' }));
 * ```
 */
export class ScyldManager extends JobQueueManager {
  /**
   * @param np number of workers (one bpsh each)
   * @throws UsageError naming the invalid option and where it was set
   */
  constructor(np: number, options: ScyldOptions = {}) {
    super(np, options, {
      name: 'scyld',
      driver: (settings) => scyldDriver(settings),
      flagSchema: scyldOptionsSchema,
      flagNames: BPSH_OPTION_NAMES,
      settingsSchema: scyldSettingsSchema,
      aliases: SCYLD_ALIASES,
    });
  }
}

/**
 * `cluster.addprocs(new ScyldManager(np, options), addprocsOptions)`, the ClusterManagers.jl
 * way (`addprocs_scyld`).
 * @returns the new workers' ids
 */
export function addprocsScyld(cluster: Cluster, np: number, options: ScyldOptions = {}, addprocsOptions: AddprocsOptions = {}): Promise<number[]> {
  return cluster.addprocs(new ScyldManager(np, options), addprocsOptions);
}
