/**
 * SGEManager: workers started through Grid Engine — one `qsub` job array per `addprocs` (a job
 * per worker, `-t 1-N`), or one parallel job (`layout: 'tasks'`, `-pe <pe> N`).
 * @module
 */
import { type AddprocsOptions, type Cluster } from '@cm/core';
import { type JobQueueOptions, JobQueueManager } from '@cm/core/driver';
import { sgeDriver, sgeRunningLimit } from './driver.js';
import { QSUB_OPTION_NAMES, SGE_ALIASES, type SgeSettings, type SgeSettingsInput, type SgeTypedOptions, sgeOptionsSchema, sgeSettingsSchema } from './options.js';

/**
 * Options of {@link SGEManager} and {@link QRSHManager}: @cm's batch options (`logDir`,
 * `prologue`, `launchTimeoutMs`…), the typed Grid Engine options (`queue`, `resources`,
 * `walltime`, `memory`, `pe`, `slots`, `project`, `wd`), the site setting `memoryResource`,
 * any other qsub/qrsh option as a key (`hold_jid: 12` → `-hold_jid 12`, `cwd: true` → `-cwd`;
 * a name Grid Engine does not have is refused with the closest one), and free words for the
 * command line in `qsubFlags` / `qrshFlags` (`['-l', 'gpu=1']`).
 * Site defaults come from `/etc/cm/config.json`, `~/.config/cm/config.json` (or `$CM_CONFIG`)
 * section `"sge"`, and `CM_SGE_*` variables; these options override them.
 */
export type SgeOptions = JobQueueOptions &
  SgeTypedOptions &
  SgeSettingsInput & {
    /** Free words for the qsub command line (ClusterManagers.jl's `qsub_flags`), e.g. `['-m', 'e']`. */
    qsubFlags?: string[];
    /** Free words for the qrsh command line, e.g. `['-N', 'myjob']`. */
    qrshFlags?: string[];
    /** Any other qsub/qrsh option (submit.1): `hold_jid: 12` → `-hold_jid 12`, `cwd: true` → `-cwd`. */
    [gridEngineOption: string]: unknown;
  };

/**
 * Starts `np` workers through Grid Engine's qsub.
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * await cluster.addprocs(new SGEManager(8, { queue: 'all.q', walltime: '01:00:00', memory: '4G' }));
 * ```
 */
export class SGEManager extends JobQueueManager {
  /** @throws UsageError naming the invalid option and where it was set */
  constructor(np: number, options: SgeOptions = {}) {
    super(np, options, {
      name: 'sge',
      driver: (settings) => sgeDriver(settings as SgeSettings),
      flagSchema: sgeOptionsSchema,
      flagNames: QSUB_OPTION_NAMES,
      settingsSchema: sgeSettingsSchema,
      aliases: SGE_ALIASES,
      runningLimit: sgeRunningLimit,
    });
  }
}

/**
 * `cluster.addprocs(new SGEManager(np, options), addprocsOptions)`, the ClusterManagers.jl way
 * (`addprocs_sge(np; qsub_flags, wd)`).
 * @returns the new workers' ids
 */
export function addprocsSge(cluster: Cluster, np: number, options: SgeOptions = {}, addprocsOptions: AddprocsOptions = {}): Promise<number[]> {
  return cluster.addprocs(new SGEManager(np, options), addprocsOptions);
}
