/**
 * SSHManager: workers on hosts over ssh, as ClusterManagers.jl's users start them with
 * `addprocs([("node1", 2), …])` — a few lines over core's `JobQueueManager`.
 * @module
 */
import { JobQueueManager, type JobQueueOptions } from '@cm/core/driver';
import { z } from 'zod';
import { type SshSettings, sshDriver, sshSettingsSchema } from './driver.js';

/** Options of {@link SSHManager}: the hosts and ssh command, and @cm's batch options (`logDir`, `nodeArgs`, `launchTimeoutMs`…). */
export type SshOptions = JobQueueOptions & z.input<typeof sshSettingsSchema>;

/**
 * Starts `np` workers on `hosts` over ssh, round robin. `node` and `cm-worker` must be at the
 * same paths on the hosts, and `logDir` (the secret file) on a filesystem they share.
 *
 * @example
 * ```ts
 * await cluster.addprocs(new SSHManager(4, { hosts: ['node1', 'node2'], logDir: '/shared/cm' }));
 * ```
 */
export class SSHManager extends JobQueueManager {
  /** @throws UsageError naming the invalid option and where it was set (code, site config, `CM_SSH_*`) */
  constructor(np: number, options: SshOptions) {
    super(
      np,
      { ...options },
      {
        name: 'ssh',
        driver: (settings) => sshDriver(settings as SshSettings),
        // ssh takes its options in `ssh`, not as scheduler flags.
        flagSchema: z.object({}),
        flagNames: [],
        settingsSchema: sshSettingsSchema,
        aliases: { sshFlags: 'submitFlags' },
      },
    );
  }
}
