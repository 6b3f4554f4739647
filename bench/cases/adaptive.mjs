// An adaptive pool on a bursty workload: bursts of work separated by idle gaps, on local
// workers. `cluster.adapt(manager, { minimum: 0, maximum: 4 })` against a fixed pool of 4
// workers started before the work: makespan (first burst submitted → last burst done, the fixed
// pool's start-up included) and worker-seconds used (each worker from its join to its removal;
// the adaptive pool's idle tail after the last burst included). Items block their worker
// (Atomics.wait) for their duration, so the figures are about the pool, not CPU contention.
import { Cluster, LocalManager } from '@cm/core';

const MAXIMUM = 4;
const BURSTS = 4;
const ITEMS_PER_BURST = 32;
const ITEM_MS = 250;
const GAP_MS = 10_000;
const IDLE_TIMEOUT_MS = 1_000;

const work = (ms) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
};

/** Worker-seconds: each worker's time from join to removal (or to `end()` for those still there). */
function meter(cluster) {
  const joinedAt = new Map();
  let used = 0;
  cluster.on('worker-joined', (w) => joinedAt.set(w.id, performance.now()));
  const leave = (w) => {
    const at = joinedAt.get(w.id);
    if (at === undefined) return;
    used += performance.now() - at;
    joinedAt.delete(w.id);
  };
  cluster.on('worker-removed', leave);
  cluster.on('worker-lost', leave);
  return {
    end: () => {
      const now = performance.now();
      for (const at of joinedAt.values()) used += now - at;
      joinedAt.clear();
      return used / 1000;
    },
  };
}

async function bursts(cluster) {
  for (let burst = 0; burst < BURSTS; burst++) {
    if (burst > 0) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    await cluster.pmap(
      work,
      Array.from({ length: ITEMS_PER_BURST }, () => ITEM_MS),
    );
  }
}

async function fixedPool() {
  const cluster = new Cluster();
  const used = meter(cluster);
  try {
    const started = performance.now();
    await cluster.addprocs(new LocalManager(MAXIMUM));
    await bursts(cluster);
    const makespan = performance.now() - started;
    return { makespan, workerSeconds: used.end() };
  } finally {
    await cluster.close();
  }
}

async function adaptivePool() {
  const cluster = new Cluster();
  const used = meter(cluster);
  try {
    const pool = cluster.adapt(new LocalManager(1), { minimum: 0, maximum: MAXIMUM, idleTimeoutMs: IDLE_TIMEOUT_MS, intervalMs: 100 });
    let launches = 0;
    pool.on('scale-up', () => launches++);
    const started = performance.now();
    await bursts(cluster);
    const makespan = performance.now() - started;
    // The pool's idle tail counts: wait until it has let every worker go (bounded).
    const deadline = performance.now() + 10 * IDLE_TIMEOUT_MS + 10_000;
    while (cluster.nworkers() > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.stop();
    return { makespan, workerSeconds: used.end(), launches };
  } finally {
    await cluster.close();
  }
}

export async function adaptive() {
  const fixed = await fixedPool();
  const adapted = await adaptivePool();
  const workload = `${BURSTS} bursts of ${ITEMS_PER_BURST} × ${ITEM_MS} ms items, ${GAP_MS / 1000} s gaps`;
  return [
    {
      what: 'adaptive pool',
      measure: `${workload}: makespan (ms), adapt(0..${MAXIMUM}) vs fixed ${MAXIMUM} workers`,
      cm: adapted.makespan,
      floor: fixed.makespan,
      ratio: adapted.makespan / fixed.makespan,
      target: '<= 1.2x fixed',
      pass: adapted.makespan <= 1.2 * fixed.makespan,
    },
    {
      what: 'adaptive pool',
      measure: `  worker-seconds used, adapt vs fixed (${adapted.launches} launches)`,
      cm: adapted.workerSeconds,
      floor: fixed.workerSeconds,
      ratio: adapted.workerSeconds / fixed.workerSeconds,
      target: '<= 0.5x fixed',
      pass: adapted.workerSeconds <= 0.5 * fixed.workerSeconds,
    },
  ];
}
