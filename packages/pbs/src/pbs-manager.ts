/**
 * PBSManager: workers started through PBS Professional / OpenPBS or Torque — one `qsub` job
 * array per `addprocs` (one plain job when np is 1), in the dialect the `dialect` setting
 * names or `qstat --version` tells.
 * @module
 */
import { type AddprocsOptions, type Cluster } from '@cm/core';
import { type JobQueueOptions, JobQueueManager } from '@cm/core/driver';
import type { z } from 'zod';
import { pbsDriverFor } from './driver.js';
import { PBS_ALIASES, PBS_FLAG_NAMES, pbsOptionsSchema, pbsSettingsSchema } from './options.js';

/**
 * Options of {@link PBSManager}: @cm's batch options (`logDir`, `prologue`, `jobName`,
 * `launchTimeoutMs`…), the `dialect` setting, the typed common qsub options (`queue`,
 * `walltime`, `cpus`, `memory`, `account`, `project`), any other qsub option as a one-letter
 * key (`m: 'abe'` → `-m abe`, `l: 'software=x'` → `-l software=x`, `V: ''` → `-V`; a name
 * qsub does not have is refused with the closest one), and free words for the qsub command
 * line in `qsubFlags` (`['-W', 'group_list=proj']`).
 * Site defaults come from `/etc/cm/config.json`, `~/.config/cm/config.json` (or `$CM_CONFIG`)
 * section `"pbs"`, and `CM_PBS_*` variables (`CM_PBS_QUEUE`, `CM_PBS_DIALECT`); these options override them.
 */
export type PbsOptions = JobQueueOptions & z.input<typeof pbsOptionsSchema> & z.input<typeof pbsSettingsSchema> & { qsubFlags?: string[]; [qsubOption: string]: unknown };

/**
 * Starts `np` workers through PBS: one job array (`-J 1-N` on PBS Pro, `-t 1-N` on Torque).
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * await cluster.addprocs(new PBSManager(8, { queue: 'workq', walltime: '01:00:00', cpus: 2, memory: '4gb' }));
 * ```
 */
export class PBSManager extends JobQueueManager {
  /**
   * @param np number of workers (each its own array subjob)
   * @throws UsageError naming the invalid option and where it was set, or when `dialect: 'auto'` cannot tell which PBS answers
   */
  constructor(np: number, options: PbsOptions = {}) {
    super(np, options, {
      name: 'pbs',
      driver: (settings, runner) => pbsDriverFor(typeof settings.dialect === 'string' ? settings.dialect : 'auto', runner),
      flagSchema: pbsOptionsSchema,
      flagNames: PBS_FLAG_NAMES,
      settingsSchema: pbsSettingsSchema,
      aliases: PBS_ALIASES,
    });
  }
}

/**
 * `cluster.addprocs(new PBSManager(np, options), addprocsOptions)`, the ClusterManagers.jl
 * way (`addprocs_pbs(np; qsub_flags)`).
 * @returns the new workers' ids
 */
export function addprocsPbs(cluster: Cluster, np: number, options: PbsOptions = {}, addprocsOptions: AddprocsOptions = {}): Promise<number[]> {
  return cluster.addprocs(new PBSManager(np, options), addprocsOptions);
}
