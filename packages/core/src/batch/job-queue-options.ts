/**
 * The options every batch manager takes, documented for editors: `jobQueueOptionsSchema`
 * (options.ts) validates them; this interface is what a hover shows. A type check at the
 * bottom keeps the two the same set of options.
 * @module
 */
import type { z } from 'zod';
import type { jobQueueOptionsSchema } from './options.js';

/**
 * Options every batch manager understands, whatever its scheduler (each driver adds its own
 * scheduler flags). Each can also come from the site config (`~/.config/cm/config.json`,
 * `/etc/cm/config.json`) or an environment variable `CM_BATCH_<NAME>` (`CM_BATCH_LOG_DIR`).
 */
export interface JobQueueOptions {
  /**
   * `'array'`: one job array, a job per worker (each can start as soon as its own resources
   * are free). `'tasks'`: one job with a task per worker (all start together).
   * @defaultValue the driver's first layout
   */
  layout?: 'array' | 'tasks' | undefined;
  /**
   * Job name shown by the scheduler, and the prefix of the log files: 1–64 letters, digits, `_`, `.` or `-`.
   * @defaultValue 'cm'
   */
  jobName?: string | undefined;
  /**
   * Directory for job scripts and the jobs' stdout/stderr; it must be visible from the compute nodes.
   * @defaultValue `~/.cm/logs` (`.cm/logs` in the login home with `sshCommand`)
   */
  logDir?: string | undefined;
  /**
   * Shell lines run in the job before the workers start (`module load nodejs`, `source venv/bin/activate`).
   * @defaultValue []
   */
  prologue?: string[] | undefined;
  /**
   * Extra environment variables for the workers. They are written into the job script, so no secrets here.
   * @defaultValue {}
   */
  env?: Record<string, string> | undefined;
  /**
   * Node.js flags for the workers, e.g. `['--max-old-space-size=4096']`.
   * @defaultValue []
   */
  nodeArgs?: string[] | undefined;
  /**
   * Delays in milliseconds before retrying a submission that failed transiently (the
   * controller busy or unreachable); its length is the number of retries (at most 100).
   * @defaultValue [1000, 2000, 4000, 8000, 16000]
   */
  submitRetryDelays?: number[] | undefined;
  /**
   * First delay between status polls, in milliseconds (at least 50); it grows while nothing changes.
   * @defaultValue 1000 (1 s)
   */
  pollMs?: number | undefined;
  /**
   * Longest delay between status polls, in milliseconds (at least 50).
   * @defaultValue 15000 (15 s)
   */
  pollMaxMs?: number | undefined;
  /**
   * Progress display while jobs wait: a live line with the state and elapsed time on a
   * terminal and plain lines otherwise (`'auto'`), or force `'tty'`/`'plain'`, or `'none'`. The
   * cluster's `launch-progress` events are emitted regardless.
   * @defaultValue 'auto'
   */
  progress?: 'auto' | 'tty' | 'plain' | 'none' | undefined;
  /**
   * Default `addprocs` timeout for this manager, in milliseconds; jobs still queued then are
   * cancelled and the error names them with their last state.
   * @defaultValue 900000 (15 min)
   */
  launchTimeoutMs?: number | undefined;
  /**
   * Interface address the master listens on for these workers.
   * @defaultValue all interfaces, advertising the machine's routable address
   */
  host?: string | undefined;
  /**
   * Port, or inclusive `[first, last]` range, the master listens on for these workers (a port a firewall allows).
   * @defaultValue any free port
   */
  port?: number | [number, number] | undefined;
  /**
   * Address the workers dial, when it differs from `host` (NAT, a specific interface).
   * @defaultValue the address listened on
   */
  advertiseHost?: string | undefined;
  /**
   * Submit a replacement job before a job's walltime ends, so the cluster keeps its size:
   * `true` (10 minutes ahead) or how many milliseconds ahead. Needs a walltime option.
   * @defaultValue false
   */
  replaceBeforeWalltime?: boolean | number | undefined;
  /**
   * Start the workers inside the allocation the master runs in (`salloc`, inside `sbatch`), without submitting.
   * @defaultValue false
   */
  inAllocation?: boolean | undefined;
  /**
   * Free flags for the submit command, as words (`['--exclusive', '--mail-type=END']`,
   * `['-l', 'h_vmem=4G']`): ClusterManagers.jl's `sbatch_flags`/`qsub_flags`/`bsub_flags`.
   * Each driver also takes its own spelling (`sbatchFlags`, `qsubFlags`, `bsubFlags`).
   * @defaultValue []
   */
  submitFlags?: string[] | undefined;
  /**
   * Run every scheduler command on a login node through this command, e.g.
   * `['ssh', '-o', 'BatchMode=yes', 'login1']` (ClusterManagers.jl's `ssh_cmd`). Files the
   * jobs read are written there through it, on stdin.
   * @defaultValue commands run on this machine
   */
  sshCommand?: string[] | undefined;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time: the interface takes exactly what the schema accepts. */
export const JOB_QUEUE_OPTIONS_MATCH_SCHEMA: [Same<JobQueueOptions, z.input<typeof jobQueueOptionsSchema>>, Same<keyof JobQueueOptions, keyof z.input<typeof jobQueueOptionsSchema>>] = [true, true];
