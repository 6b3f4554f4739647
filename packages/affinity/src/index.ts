/**
 * @cm/affinity: local workers pinned to CPUs with `taskset` — COMPACT (CPU 0, 1, 2, …) or
 * BALANCED (sockets first, then cores, then hardware-thread siblings) — or to exact CPUs.
 * @packageDocumentation
 */
export { LocalAffinityManager, addprocsAffinity, localAffinityManagerOptionsSchema, type LocalAffinityManagerOptions } from './affinity-manager.js';
export { COMPACT, BALANCED, cpuOrder, placeWorkers, evenlySpreadOrder, type AffinityMode } from './placement.js';
export { readCpuTopology, readSysfsTopology, readAllowedCpus, parseLscpu, parseCpuList, formatCpuList, DEFAULT_SYSFS_CPU_ROOT, type CpuTopology, type LogicalCpu } from './topology.js';
export { cmDriver } from './cm-driver.js';
