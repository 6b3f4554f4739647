/**
 * The manager interface: how a Cluster asks a ClusterManager to start workers, tells it
 * about them, and asks it to stop them. A manager's only job is to start `cm-worker`
 * processes with the connection environment it is given; workers dial the master.
 * See docs/writing-a-driver.md.
 * @module
 */

import type { ListenRequest } from '../cluster/listener.js';

/** What the master knows about one worker once it has joined. */
export interface WorkerConfig {
  /** The worker's id (2, 3, …; 1 is the master). Never reused within a cluster. */
  readonly id: number;
  /** The `addprocs` launch the worker belongs to. */
  readonly launchId: string;
  /** The manager that launched it. */
  readonly manager: ClusterManager;
  /** Task index within its launch (array index, srun rank, …), when known. */
  readonly taskIndex: number | null;
  /** Scheduler job id of the job the worker runs in, when there is one. */
  readonly jobId: string | null;
  readonly host: string;
  readonly pid: number;
  /** CPUs available to the worker process. */
  readonly cpus: number;
  /** Unix ms at which the worker's job must end (walltime), when known. */
  readonly endsAt: number | null;
  /** Unix ms at which it joined. */
  readonly joinedAt: number;
}

/** How many tasks of a submission are in one state (a {@link LaunchProgress} detail). */
export interface TaskStateCount {
  /** The state, as the scheduler spells it (`PENDING`, `qw`, `r`…). */
  readonly state: string;
  /** Why the tasks are in that state, as the scheduler says, when it says. */
  readonly reason?: string;
  /** How many tasks are in it. */
  readonly count: number;
}

/** A progress report from a launch, shown to people on a terminal and emitted as an event. */
export interface LaunchProgress {
  /** One-line human summary, e.g. `slurm job 123: PENDING (Resources)`. */
  message: string;
  /** Scheduler job id(s) the update is about. */
  jobIds?: string[];
  /** Scheduler state, as the scheduler spells it. */
  state?: string;
  /** Why the job is in that state, as the scheduler says. */
  reason?: string;
  /**
   * For a submission of several tasks (an array job): how many of its tasks are in each state
   * (with its reason), most first, e.g. `[{ state: 'PENDING', reason: 'Priority', count: 5 },
   * { state: 'RUNNING', count: 3 }]`, states spelt as the scheduler spells them. The counts are
   * of the tasks the last status poll listed, except that once all the workers have joined
   * every task counts as running. Absent for a single job and before the first poll.
   */
  states?: readonly TaskStateCount[];
}

/** Everything a manager needs to start the workers of one `addprocs` call. */
export interface LaunchContext {
  /** Identifies this launch; the workers report it back when they join. */
  readonly launchId: string;
  /** The program and arguments that start one worker (`node …/cm-worker`). */
  readonly workerCommand: { readonly file: string; readonly args: readonly string[] };
  /** `workerCommand` as one shell-quoted line, for job scripts. */
  readonly workerCommandLine: string;
  /**
   * The environment every worker needs: where the master is, the launch id and the secret.
   * Pass it through the process environment (or the scheduler's environment export), never on a
   * command line or in a job script: it contains the cluster secret.
   */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** The address workers dial. */
  readonly master: { readonly host: string; readonly port: number };
  /** Aborted when the launch is cancelled (caller's signal, timeout, close). */
  readonly signal: AbortSignal;
  /** How many of this launch's workers have joined so far. */
  joined(): number;
  /** Report progress. */
  progress(update: LaunchProgress): void;
  /** The launch cannot succeed (a process or job died before joining): fail `addprocs` now with this error. */
  fail(error: Error): void;
  /**
   * These tasks (worker task indexes, from 0) will never join: the manager is cancelling them
   * while they wait in the queue ({@link ClusterManager.cancelPending}). The launch stops
   * waiting for them and refuses a worker that claims one. Returns the tasks it accepted: a
   * task whose worker is already joining is left out, and must not be cancelled.
   */
  withdraw(tasks: readonly number[]): number[];
}

/** Why a worker left: lost unexpectedly, or removed on purpose. */
export type WorkerEvent = 'joined' | 'lost' | 'removed';

/**
 * A way of starting workers. Implement `launch`; the rest is optional.
 *
 * The cluster calls `launch` once per `addprocs`, waits for `expectedWorkers` workers with
 * the launch id to join, and calls `manage` as workers come and go. On `rmprocs` it asks
 * workers to exit, then calls `kill` for those that do not. On a failed or cancelled launch,
 * and on `close`, it calls `shutdown`, which must leave nothing of the manager's running.
 */
export interface ClusterManager {
  /** Short name for messages and progress lines (`local`, `slurm`, …). */
  readonly name: string;
  /** Workers one launch starts. `addprocs` resolves when this many have joined. */
  readonly expectedWorkers: number;
  /** Accept workers with this launch id after `expectedWorkers` have joined (workers that join at any time). */
  readonly acceptsLateWorkers?: boolean;
  /** Workers run on other machines: the master must listen on a routable address. */
  readonly needsRoutableAddress?: boolean;
  /** A specific address and port to listen on for this manager's workers (e.g. a fixed port a firewall allows). */
  readonly listen?: ListenRequest;
  /** Default for the `addprocs` timeout, in ms (a queue may need longer than local processes). */
  readonly defaultLaunchTimeoutMs?: number;
  /** How long before a worker's walltime its replacement should be started (a batch manager's `replaceBeforeWalltime`). */
  readonly walltimeLeadMs?: number;
  /** Start the workers (or submit the job that starts them). Reject to fail `addprocs`. */
  launch(context: LaunchContext): Promise<void>;
  /** A worker of this manager joined, was lost, or was removed. */
  manage?(worker: WorkerConfig, event: WorkerEvent): void;
  /** Force-stop a worker that did not exit when asked. */
  kill?(worker: WorkerConfig): Promise<void>;
  /** What happened to a lost worker (scheduler state, exit signal…), when the manager can tell. */
  explainLoss?(worker: WorkerConfig): Promise<string | undefined>;
  /**
   * Stop what this manager started: everything (on `close`, `launchId` undefined), or only
   * the processes and jobs of one failed, timed-out or aborted launch (`launchId` given) —
   * a manager reused for several `addprocs` keeps its other launches running.
   */
  shutdown?(reason: string, launchId?: string): Promise<void>;
  /**
   * What of launch `launchId` is still waiting, for the error of a launch that timed out:
   * e.g. `slurm job 123: 6 PENDING (Resources), 2 RUNNING`. Without it, the launch's last
   * progress report is named instead.
   */
  describePending?(launchId: string): string | undefined;
  /**
   * A manager of the same kind and options that starts `count` workers per launch: what
   * `cluster.adapt` launches when it grows by `count` (one launch, so one submission for a
   * batch scheduler). Managers without it cannot be adapted.
   */
  withWorkers?(count: number): ClusterManager;
  /**
   * Cancel up to `count` workers of launch `launchId` that are still waiting in the queue (not
   * started), because the work they were for is gone. Call `context.withdraw(tasks)` before
   * cancelling, and cancel only the tasks it returns. Resolves to how many were cancelled (0
   * when nothing is waiting, or the manager cannot cancel part of what it submitted).
   */
  cancelPending?(launchId: string, count: number): Promise<number>;
}
