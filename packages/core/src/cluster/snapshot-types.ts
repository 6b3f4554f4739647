/**
 * The shape of `cluster.snapshot()`: plain, JSON-safe interfaces that a dashboard, a metrics
 * exporter or a test reads. Apart from the recorder (snapshot.ts) so the contract can be read
 * on its own.
 * @module
 */
import type { WorkerLossInfo } from '../errors.js';
import type { PoolEventKind, PoolSnapshot } from './pool-snapshot.js';

/** The shape of the snapshot; raised when a field changes meaning or goes away (new fields do not raise it). */
export const SNAPSHOT_VERSION = 1;

/**
 * Where a worker is in its life. `joining`: started by a launch, handshake not done (it has
 * no id yet, so it is counted in its launch, not listed); `idle`/`busy`: no call / calls in
 * flight; `retiring`: asked to exit (`rmprocs`, `close`), not gone yet; `lost`: went away unasked.
 */
export type WorkerState = 'joining' | 'idle' | 'busy' | 'retiring' | 'lost';

export interface WorkerSnapshot {
  id: number;
  host: string;
  pid: number;
  cpus: number;
  launchId: string;
  /** The launching manager's name (`local`, `slurm`…). */
  manager: string;
  /** Scheduler job id and task index, when the worker runs in a job. */
  jobId: string | null;
  taskIndex: number | null;
  state: Exclude<WorkerState, 'joining'>;
  /** Unix ms of the handshake. */
  joinedAt: number;
  /** Milliseconds from the launch's start to this worker's join (time in the queue plus start-up), when known. */
  queueWaitMs: number | null;
  /** Milliseconds since it joined (until it was lost, for a lost worker). */
  uptimeMs: number;
  callsDone: number;
  callsInFlight: number;
  /** CPU use in percent of one core, as the worker measured it between its last two reports (heartbeats). */
  cpuPercent: number | null;
  /** Resident set size in bytes, as the worker last reported it. */
  rssBytes: number | null;
  /** Unix ms of that report: a worker busy sending results sends no heartbeats, so its figures age. */
  statsAt: number | null;
  /** Milliseconds until the worker's job must end (walltime), when the scheduler said. */
  walltimeLeftMs: number | null;
  /** For a lost worker: when, why (`WorkerLossInfo.reason`) and what the scheduler or launcher said. */
  loss: { at: number; reason: WorkerLossInfo['reason']; detail: string | null } | null;
}

/** One state of one scheduler job, as the progress line spells it: `5 PENDING (Priority)`. */
export interface JobStateCount {
  state: string;
  reason: string | null;
  /** Tasks (array elements) in that state; null when the scheduler reports the job as one. */
  count: number | null;
}

export interface JobSnapshot {
  id: string;
  states: JobStateCount[];
  /** The launch's progress line for this job, e.g. `slurm job 123 (array of 8): 3 RUNNING, 5 PENDING (Priority) - 3/8 workers joined`. */
  message: string;
  updatedAt: number;
}

export interface LaunchSnapshot {
  id: string;
  manager: string;
  startedAt: number | null;
  /** Still waiting for workers (or, for an elastic launch, accepting them). */
  active: boolean;
  expected: number | null;
  joined: number;
  /** Workers started and not joined yet (0 once the launch settled). */
  joining: number;
  lost: number;
  /** The last progress message, whatever job it was about. */
  message: string | null;
  jobs: JobSnapshot[];
}

export interface PmapSnapshot {
  id: number;
  /** The worker whose code called `pmap` (a nested map), or null for the master's own. */
  startedBy: number | null;
  done: number;
  total: number;
  workers: number;
  startedAt: number;
  elapsedMs: number;
  /** Items per second since the map started. */
  ratePerSecond: number;
  ended: boolean;
}

export interface LossSnapshot {
  at: number;
  workerId: number;
  host: string;
  jobId: string | null;
  taskIndex: number | null;
  reason: WorkerLossInfo['reason'];
  /** The scheduler's or launcher's verdict (`TIMEOUT`, `OUT_OF_MEMORY`, `killed by SIGKILL`…), when known. */
  detail: string | null;
}

export interface EventSnapshot {
  at: number;
  kind: 'worker-joined' | 'worker-lost' | 'worker-removed' | 'launch-progress' | 'pmap-started' | 'pmap-ended' | 'peer-rejected' | PoolEventKind;
  text: string;
}

/** `cluster.snapshot()`: a plain object (JSON-safe: numbers, strings, null), versioned by `version`. */
export interface ClusterSnapshot {
  version: typeof SNAPSHOT_VERSION;
  takenAt: number;
  startedAt: number;
  /** `close()` was called. */
  closed: boolean;
  /** Workers by state now (`lost` counts the lost workers still listed). */
  counts: Record<WorkerState, number>;
  /** Running totals since the cluster started. */
  totals: {
    callsDone: number;
    callsInFlight: number;
    pmapItemsDone: number;
    /** Losses by `WorkerLossInfo.reason`. */
    losses: Record<string, number>;
    /** Scheduler jobs submitted (distinct job ids seen in launch progress). */
    submissions: number;
    /** Workers joined, and their summed wait from launch start to join, for a mean queue wait. */
    joins: number;
    queueWaitMsSum: number;
    peersRejected: number;
  };
  /** Current and retiring workers in join order, then the most recently lost ones. */
  workers: WorkerSnapshot[];
  launches: LaunchSnapshot[];
  /** Running maps, then the last few finished ones. */
  pmaps: PmapSnapshot[];
  /** Adaptive pools (`cluster.adapt`): running ones, then the last few stopped. */
  pools: PoolSnapshot[];
  /** Most recent first. */
  losses: LossSnapshot[];
  /** Oldest first. */
  events: EventSnapshot[];
}
