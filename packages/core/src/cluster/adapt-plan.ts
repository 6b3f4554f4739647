/**
 * One decision of an adaptive pool, as a pure function of what it sees: how many workers to
 * launch, how many queued ones to cancel, which idle ones to retire. Kept apart from the timers
 * and the cluster so each rule (hysteresis, rate bound, never a busy worker) is plain to read
 * and test.
 * @module
 */

/** A worker of the pool as the decision sees it. */
export interface PlanWorker {
  readonly id: number;
  /** Calls in flight on it (pmap batches included). */
  readonly inFlight: number;
  /** `Date.now()` when it last became idle. */
  readonly idleSince: number;
  /** Its job ends within the walltime lead. */
  readonly ending: boolean;
}

export interface PlanInput {
  now: number;
  demand: number;
  minimum: number;
  maximum: number;
  itemsPerWorker: number;
  idleTimeoutMs: number;
  workers: readonly PlanWorker[];
  /** Workers launched and not joined (queued jobs, starting processes). */
  pending: number;
  /** When capacity first exceeded the target in the current stretch (undefined when it does not). */
  excessSince: number | undefined;
  /** Launches started in the last minute, and the bound on them. */
  launchesLastMinute: number;
  maxLaunchesPerMinute: number;
  /** Growth is paused (a refused submission, too many failed launches). */
  paused: boolean;
}

export interface Plan {
  target: number;
  /** Workers to start in one launch (0: none). */
  launch: number;
  /** Why, when `launch` > 0. */
  reason: 'demand' | 'minimum' | 'walltime';
  /** Growth was wanted but the rate bound held it back. */
  rateLimited: boolean;
  /** Queued workers to cancel. */
  cancel: number;
  /** Idle workers to retire, longest idle first. */
  retire: { id: number; reason: 'idle' | 'walltime'; idleMs: number }[];
  excessSince: number | undefined;
}

export function plan(input: PlanInput): Plan {
  const { now, workers, pending } = input;
  const active = workers.filter((w) => !w.ending);
  const wanted = Math.ceil(input.demand / input.itemsPerWorker);
  const target = Math.min(input.maximum, Math.max(input.minimum, wanted));
  const capacity = active.length + pending;

  let launch = 0;
  let rateLimited = false;
  if (!input.paused && target > capacity) {
    // Workers near their walltime do not count towards `maximum`: they are on their way out.
    const room = input.maximum - capacity;
    const grow = Math.min(target - capacity, room);
    if (grow > 0 && input.launchesLastMinute < input.maxLaunchesPerMinute) launch = grow;
    else if (grow > 0) rateLimited = true;
  }
  const ending = workers.length - active.length;
  const reason = wanted < target ? 'minimum' : ending > 0 && capacity + ending >= target ? 'walltime' : 'demand';

  // Going down waits: capacity must stay above the target for idleTimeoutMs before queued
  // workers are cancelled, and each worker must itself be idle that long before it retires.
  const excess = capacity - target;
  const excessSince = excess > 0 ? (input.excessSince ?? now) : undefined;
  const settledLow = excessSince !== undefined && now - excessSince >= input.idleTimeoutMs;
  const cancel = settledLow ? Math.min(excess, pending) : 0;

  const retire: Plan['retire'] = [];
  for (const worker of workers) {
    if (worker.ending && worker.inFlight === 0) retire.push({ id: worker.id, reason: 'walltime', idleMs: now - worker.idleSince });
  }
  let surplus = Math.min(capacity - cancel - target, active.length - input.minimum);
  const idle = active.filter((w) => w.inFlight === 0 && now - w.idleSince >= input.idleTimeoutMs).sort((a, b) => a.idleSince - b.idleSince);
  for (const worker of idle) {
    if (surplus <= 0) break;
    retire.push({ id: worker.id, reason: 'idle', idleMs: now - worker.idleSince });
    surplus--;
  }
  return { target, launch, reason, rateLimited, cancel, retire, excessSince };
}
