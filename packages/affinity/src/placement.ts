/**
 * Which CPU each worker gets, from the topology and the mode. Pure functions, so the
 * logic is tested against fake machines (two sockets, hyper-threads) as well as this one.
 * @module
 */
import type { CpuTopology, LogicalCpu } from './topology.js';

/** Workers on CPUs 0, 1, 2, … in the kernel's order. */
export const COMPACT = 'compact';
/**
 * Workers spread over sockets first, then over cores (evenly spaced within each socket),
 * and onto hardware-thread siblings only when every core has a worker.
 */
export const BALANCED = 'balanced';
/** How LocalAffinityManager chooses CPUs when no `affinities` are given. */
export type AffinityMode = typeof COMPACT | typeof BALANCED;

/**
 * Positions 0..n-1 in an order whose every prefix is spread as evenly as possible
 * (bit-reversed counting): for 8 cores, 0 4 2 6 1 5 3 7 — two workers land on cores 0 and 4,
 * four on 0 2 4 6, rather than crowding the first cores.
 */
export function evenlySpreadOrder(n: number): number[] {
  let bits = 0;
  while (1 << bits < n) bits++;
  const order: number[] = [];
  for (let i = 0; i < 1 << bits; i++) {
    let reversed = 0;
    for (let b = 0; b < bits; b++) if (i & (1 << b)) reversed |= 1 << (bits - 1 - b);
    if (reversed < n) order.push(reversed);
  }
  return order;
}

interface Ranked {
  cpu: LogicalCpu;
  /** 0 for a core's first hardware thread, 1 for its sibling, … */
  threadRank: number;
  /** Position of the core in its socket's spread order. */
  coreRank: number;
  /** Position of the socket among sockets. */
  socketRank: number;
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** Every CPU of the topology in balanced order: one per socket in turn, one per core, siblings last. */
function balancedOrder(cpus: readonly LogicalCpu[]): number[] {
  const ranked: Ranked[] = [];
  const sockets = [...groupBy(cpus, (cpu) => cpu.socket).entries()].sort(([a], [b]) => a - b);
  sockets.forEach(([, socketCpus], socketRank) => {
    const cores = [...groupBy(socketCpus, (cpu) => cpu.core).values()].map((threads) => [...threads].sort((a, b) => a.id - b.id)).sort((a, b) => a[0]!.id - b[0]!.id);
    const spread = evenlySpreadOrder(cores.length);
    spread.forEach((coreIndex, coreRank) => {
      cores[coreIndex]!.forEach((cpu, threadRank) => ranked.push({ cpu, threadRank, coreRank, socketRank }));
    });
  });
  ranked.sort((a, b) => a.threadRank - b.threadRank || a.coreRank - b.coreRank || a.socketRank - b.socketRank);
  return ranked.map((r) => r.cpu.id);
}

/** All CPUs of `topology`, in the order `mode` fills them. */
export function cpuOrder(topology: CpuTopology, mode: AffinityMode): number[] {
  if (mode === COMPACT) return topology.cpus.map((cpu) => cpu.id).sort((a, b) => a - b);
  return balancedOrder(topology.cpus);
}

/**
 * The CPU for each of `np` workers (index = task index).
 * @throws RangeError when `np` exceeds the CPUs in `topology`
 */
export function placeWorkers(topology: CpuTopology, mode: AffinityMode, np: number): number[] {
  const order = cpuOrder(topology, mode);
  if (np > order.length) throw new RangeError(`${np} workers do not fit on ${order.length} CPUs`);
  return order.slice(0, np);
}
