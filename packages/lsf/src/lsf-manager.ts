/**
 * LSFManager: workers started through IBM Spectrum LSF — one `bsub` job array per
 * `addprocs`, each element one worker. ClusterManagers.jl's `LSFManager` / `addprocs_lsf`.
 * @module
 */
import { type AddprocsOptions, type Cluster } from '@cm/core';
import { type JobQueueOptions, JobQueueManager } from '@cm/core/driver';
import type { z } from 'zod';
import { BSUB_OPTION_NAMES, LSF_ALIASES } from './bsub.js';
import { type LsfSettings, createLsfDriver, lsfOptionsSchema, lsfSettingsSchema } from './driver.js';
import { unitFromLsfConf } from './limits.js';

/**
 * Options of {@link LSFManager}: @cm's batch options (`logDir`, `prologue`, `launchTimeoutMs`,
 * `sshCommand`, `submitRetryDelays`…), the typed common bsub options, the settings `throttle`
 * and `memoryUnit`, any other bsub option as a key (`x: ''` → `-x`, `app: 'fluent'` →
 * `-app fluent`; a name bsub does not have is refused with the closest one), and free words
 * for the bsub command line in `bsubFlags` (`['-x', '-app', 'fluent']`).
 * ClusterManagers.jl's keywords work as they are: `bsub_flags`, `ssh_cmd`, `retry_delays`
 * (in ms here), `throttle`.
 * Site defaults come from `/etc/cm/config.json`, `~/.config/cm/config.json` (or `$CM_CONFIG`)
 * section `"lsf"`, and `CM_LSF_*` variables; these options override them.
 */
export type LSFOptions = JobQueueOptions &
  z.input<typeof lsfOptionsSchema> &
  z.input<typeof lsfSettingsSchema> & {
    /** Free words for the bsub command line (ClusterManagers.jl's `bsub_flags`); same as `submitFlags`. */
    bsubFlags?: string[];
    /** Delays in ms before retrying a submission LSF failed transiently (ClusterManagers.jl's `retry_delays`); same as `submitRetryDelays`. */
    retryDelays?: number[];
    [bsubOption: string]: unknown;
  };

/**
 * Starts `np` workers through LSF, as one job array.
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * await cluster.addprocs(new LSFManager(8, { queue: 'short', walltime: 30, memory: '2GB', throttle: 4 }));
 * ```
 */
export class LSFManager extends JobQueueManager {
  /** @throws UsageError naming the invalid option, where it was set, and what was probably meant */
  constructor(np: number, options: LSFOptions = {}) {
    super(np, options, {
      name: 'lsf',
      // lsf.conf is read where the commands run; through sshCommand that is another machine.
      driver: (settings, runner) => {
        const { throttle, memoryUnit } = settings as LsfSettings;
        return createLsfDriver({ throttle, memoryUnit: memoryUnit ?? (runner.where === undefined ? unitFromLsfConf() : undefined) });
      },
      flagSchema: lsfOptionsSchema,
      flagNames: BSUB_OPTION_NAMES,
      settingsSchema: lsfSettingsSchema,
      aliases: LSF_ALIASES,
      // `%K` runs K elements at once: addprocs waits for those, the rest join as slots free.
      runningLimit: (settings) => (settings as LsfSettings).throttle,
    });
  }
}

/**
 * `cluster.addprocs(new LSFManager(np, options), addprocsOptions)`, the ClusterManagers.jl
 * way (`addprocs_lsf(np; bsub_flags, ssh_cmd, retry_delays, throttle)`).
 * @returns the new workers' ids
 */
export function addprocsLsf(cluster: Cluster, np: number, options: LSFOptions = {}, addprocsOptions: AddprocsOptions = {}): Promise<number[]> {
  return cluster.addprocs(new LSFManager(np, options), addprocsOptions);
}
