/**
 * HTCManager: workers started through HTCondor — one `condor_submit` per `addprocs`, a
 * cluster of N procs (ProcId 0..N-1) running the body script, watched with condor_q and
 * condor_history, removed with condor_rm.
 * @module
 */
import { type AddprocsOptions, type Cluster } from '@cm/core';
import { type JobQueueOptions, JobQueueManager } from '@cm/core/driver';
import type { z } from 'zod';
import { htcondorDriver } from './driver.js';
import { SUBMIT_COMMAND_NAMES, htcondorOptionsSchema, htcondorSettingsSchema } from './options.js';

/**
 * Options of {@link HTCManager}: @cm's batch options (`logDir`, `prologue`, `env`,
 * `launchTimeoutMs`…), the typed common submit commands, any other submit-description
 * command as a key (`want_graceful_removal: true` → `want_graceful_removal = true`; a name
 * condor_submit does not have is refused with the closest one), whole `key = value` lines in
 * `submitLines`, and free words for the condor_submit command line in `condorSubmitFlags`
 * (`['-batch-name', 'x']`).
 * Site defaults come from `/etc/cm/config.json`, `~/.config/cm/config.json` (or `$CM_CONFIG`)
 * section `"htcondor"`, and `CM_HTCONDOR_*` variables; these options override them.
 */
export type HTCOptions = JobQueueOptions & z.input<typeof htcondorOptionsSchema> & z.input<typeof htcondorSettingsSchema> & { condorSubmitFlags?: string[]; [submitCommand: string]: unknown };

const ORDER = Object.keys(htcondorOptionsSchema.shape);

/**
 * Starts `np` workers through HTCondor.
 *
 * @example
 * ```ts
 * await using cluster = new Cluster();
 * await cluster.addprocs(new HTCManager(8, { requestCpus: 2, requestMemory: '4 GB', requirements: 'OpSys == "LINUX"' }));
 * ```
 */
export class HTCManager extends JobQueueManager {
  /**
   * @param np number of workers (procs of one cluster)
   * @throws UsageError naming the invalid option and where it was set
   */
  constructor(np: number, options: HTCOptions = {}) {
    super(np, options, {
      name: 'htcondor',
      driver: (settings) => htcondorDriver((settings as z.output<typeof htcondorSettingsSchema>).submitLines, ORDER),
      flagSchema: htcondorOptionsSchema,
      flagNames: SUBMIT_COMMAND_NAMES,
      settingsSchema: htcondorSettingsSchema,
      aliases: { condorSubmitFlags: 'submitFlags', initialDir: 'initialdir' },
    });
  }
}

/**
 * `cluster.addprocs(new HTCManager(np, options), addprocsOptions)`, the ClusterManagers.jl
 * way (`addprocs_htc`).
 * @returns the new workers' ids
 */
export function addprocsHtc(cluster: Cluster, np: number, options: HTCOptions = {}, addprocsOptions: AddprocsOptions = {}): Promise<number[]> {
  return cluster.addprocs(new HTCManager(np, options), addprocsOptions);
}
