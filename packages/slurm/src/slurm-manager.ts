/**
 * SlurmManager: workers started through Slurm — one `sbatch` per `addprocs` (a job of tasks
 * started by srun, or a job array), or `srun` inside the allocation the master runs in.
 * @module
 */
import { type AddprocsOptions, type Cluster } from '@cm/core';
import { type JobQueueOptions, JobQueueManager } from '@cm/core/driver';
import type { z } from 'zod';
import { SBATCH_OPTION_NAMES, SLURM_ALIASES, slurmDriver, slurmOptionsSchema } from './driver.js';

/**
 * Options of {@link SlurmManager}: @cm's batch options (`layout`, `logDir`, `prologue`,
 * `launchTimeoutMs`…), the typed common sbatch options, any other sbatch option as a key
 * (`exclusive: ''` → `--exclusive`, `mail_type: 'END'` → `--mail-type=END`, `w: 'node01'` → `-w node01`;
 * a name sbatch does not have is refused with the closest one), and free words for the
 * sbatch command line in `sbatchFlags` (`['--exclusive']`).
 * Site defaults come from `/etc/cm/config.json`, `~/.config/cm/config.json` (or `$CM_CONFIG`)
 * section `"slurm"`, and `CM_SLURM_*` variables; these options override them.
 */
export type SlurmOptions = JobQueueOptions & z.input<typeof slurmOptionsSchema> & { sbatchFlags?: string[]; [sbatchOption: string]: unknown };

/**
 * Starts `np` workers through Slurm.
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * await cluster.addprocs(new SlurmManager(8, { partition: 'compute', time: '01:00:00', cpusPerTask: 2 }));
 * ```
 * Inside `salloc`/`sbatch`, `new SlurmManager()` starts one worker per task of the allocation with srun.
 */
export class SlurmManager extends JobQueueManager {
  /**
   * @param np number of workers; leave it out inside an allocation to use all its tasks
   * @throws UsageError naming the invalid option and where it was set
   */
  constructor(np?: number, options: SlurmOptions = {}) {
    super(np, options, { driver: slurmDriver, flagSchema: slurmOptionsSchema, flagNames: SBATCH_OPTION_NAMES, aliases: SLURM_ALIASES });
  }
}

/**
 * `cluster.addprocs(new SlurmManager(np, options), addprocsOptions)`, the ClusterManagers.jl
 * way (`addprocs_slurm`).
 * @returns the new workers' ids
 */
export function addprocsSlurm(cluster: Cluster, np: number | undefined, options: SlurmOptions = {}, addprocsOptions: AddprocsOptions = {}): Promise<number[]> {
  return cluster.addprocs(new SlurmManager(np, options), addprocsOptions);
}
