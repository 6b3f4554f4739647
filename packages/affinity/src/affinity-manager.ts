/**
 * LocalAffinityManager: local workers, each pinned to one CPU with `taskset`. Everything
 * about starting and stopping processes is core's LocalManager; this file only decides
 * which CPU each worker gets and wraps its command in `taskset --cpu-list <cpu>`.
 * @module
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { type Cluster, LocalManager, UsageError, type WorkerConfig, type WorkerEvent, localManagerOptionsSchema } from '@cm/core';
import { parseOptions } from '@cm/core/driver';
import { z } from 'zod';
import { type AffinityMode, BALANCED, COMPACT, placeWorkers } from './placement.js';
import { type CpuTopology, formatCpuList, readAllowedCpus, readCpuTopology } from './topology.js';

export const localAffinityManagerOptionsSchema = localManagerOptionsSchema.extend({
  /** Number of workers (default: one per CPU this process may use). */
  np: z.number().int().positive().optional(),
  /** How CPUs are chosen when `affinities` is not given (default BALANCED). */
  mode: z.enum([COMPACT, BALANCED]).optional(),
  /** Exactly these CPUs, one worker per entry (worker with task index i on `affinities[i]`). */
  affinities: z.array(z.number().int().nonnegative()).min(1, 'must name at least one CPU').optional(),
  /** Path of the `taskset` program (default: found on PATH). */
  taskset: z.string().min(1).optional(),
  /**
   * The CPUs to place workers on (default: this machine's, read from sysfs, limited to the
   * CPUs this process may use). For tests, and for machines whose sysfs misreports.
   */
  topology: z.custom<CpuTopology>((v) => typeof v === 'object' && v !== null && Array.isArray((v as CpuTopology).cpus), 'must be { cpus: [{ id, socket, core }, …] }').optional(),
});
export type LocalAffinityManagerOptions = z.input<typeof localAffinityManagerOptionsSchema>;
type ResolvedOptions = z.output<typeof localAffinityManagerOptionsSchema>;

/** Find an executable on PATH, as a shell would. */
function findOnPath(program: string, searchPath = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function resolveTaskset(configured: string | undefined): string {
  if (configured) {
    try {
      accessSync(configured, constants.X_OK);
      return configured;
    } catch {
      throw new UsageError(
        `LocalAffinityManager: \`taskset\` is set to ${configured}, which is not an executable file; point it at taskset (from util-linux) or leave it out to search PATH`,
        'taskset',
      );
    }
  }
  const found = findOnPath('taskset');
  if (!found) {
    throw new UsageError(
      'LocalAffinityManager pins workers with `taskset`, which is not on PATH; install util-linux (e.g. `apt-get install util-linux` or `dnf install util-linux`) or pass `taskset: "/path/to/taskset"`',
      'taskset',
    );
  }
  return found;
}

/** The machine's CPUs, minus those this process may not use (cgroup, batch job, outer taskset). */
function usableTopology(): CpuTopology {
  let machine: CpuTopology;
  try {
    machine = readCpuTopology();
  } catch (error) {
    throw new UsageError(`LocalAffinityManager could not read the CPU topology: ${(error as Error).message}; pass \`affinities\` with \`topology\`, or use LocalManager`, 'topology');
  }
  const allowed = readAllowedCpus();
  if (!allowed) return machine;
  const allowedSet = new Set(allowed);
  return { cpus: machine.cpus.filter((cpu) => allowedSet.has(cpu.id)) };
}

/** The CPU for each worker, or a UsageError saying why the request cannot be met. */
function chooseCpus(options: ResolvedOptions, topology: CpuTopology): number[] {
  const available = topology.cpus.map((cpu) => cpu.id);
  const availableText = `${available.length} CPU${available.length === 1 ? '' : 's'} (${formatCpuList(available)})`;
  if (options.affinities) {
    if (options.mode !== undefined) {
      throw new UsageError('LocalAffinityManager: give either `affinities` (exact CPUs) or `mode` (CPUs chosen for you), not both', 'mode');
    }
    if (options.np !== undefined && options.np !== options.affinities.length) {
      throw new UsageError(`LocalAffinityManager: \`np\` is ${options.np} but \`affinities\` names ${options.affinities.length} CPUs; one worker starts per entry, so leave \`np\` out`, 'np');
    }
    const seen = new Set<number>();
    for (const cpu of options.affinities) {
      if (!available.includes(cpu)) {
        throw new UsageError(`LocalAffinityManager: CPU ${cpu} in \`affinities\` does not exist or may not be used by this process; usable: ${availableText}`, 'affinities');
      }
      if (seen.has(cpu)) {
        throw new UsageError(`LocalAffinityManager: CPU ${cpu} appears twice in \`affinities\`; each worker gets a CPU of its own (use LocalManager to run more workers than CPUs)`, 'affinities');
      }
      seen.add(cpu);
    }
    return [...options.affinities];
  }
  const np = options.np ?? available.length;
  if (np > available.length) {
    throw new UsageError(
      `LocalAffinityManager: ${np} workers were asked for but this process may use only ${availableText}; lower \`np\` (one pinned worker per CPU), or use LocalManager to run more workers than CPUs`,
      'np',
    );
  }
  return placeWorkers(topology, options.mode ?? BALANCED, np);
}

/**
 * Starts local workers, each pinned to its own CPU with `taskset` (Linux, util-linux).
 *
 * Every problem — not Linux, no `taskset`, more workers than CPUs, a CPU that does not
 * exist — is a UsageError from the constructor, before any process starts.
 *
 * @example
 * ```ts
 * import { Cluster } from '@cm/core';
 * import { LocalAffinityManager, BALANCED } from '@cm/affinity';
 * await using cluster = new Cluster();
 * await cluster.addprocs(new LocalAffinityManager({ np: 4, mode: BALANCED }));
 * ```
 */
export class LocalAffinityManager extends LocalManager {
  override readonly name = 'local-affinity';
  /** The CPU of each worker, by task index: worker with task index i runs on `cpus[i]`. */
  readonly cpus: readonly number[];
  /** The mode CPUs were chosen with, or `'affinities'` when they were given explicitly. */
  readonly mode: AffinityMode | 'affinities';
  /** The `taskset` program workers are started under. */
  readonly taskset: string;
  readonly #parsed: ResolvedOptions;
  /** Live workers per CPU, shared by this manager and those `withWorkers` made from it, so an adaptive pool spreads its workers. */
  #inUse = new Map<number, number>();

  /** @throws UsageError for invalid options or a machine that cannot pin workers */
  constructor(options: number | LocalAffinityManagerOptions = {}) {
    const parsed = parseOptions(localAffinityManagerOptionsSchema, typeof options === 'number' ? { np: options } : options, 'LocalAffinityManager options');
    if (process.platform !== 'linux') {
      throw new UsageError(`LocalAffinityManager pins workers with taskset, which exists only on Linux (this is ${process.platform}); use LocalManager instead`);
    }
    const taskset = resolveTaskset(parsed.taskset);
    const cpus = chooseCpus(parsed, parsed.topology ?? usableTopology());
    super({ np: cpus.length, env: parsed.env, cwd: parsed.cwd, nodeArgs: parsed.nodeArgs }, (command, taskIndex) => {
      const cpu = cpus[taskIndex];
      if (cpu === undefined) throw new UsageError(`LocalAffinityManager has no CPU for task ${taskIndex} (it pins ${cpus.length} workers)`);
      return { file: taskset, args: ['--cpu-list', String(cpu), command.file, ...command.args] };
    });
    this.cpus = Object.freeze(cpus);
    this.mode = parsed.affinities ? 'affinities' : (parsed.mode ?? BALANCED);
    this.taskset = taskset;
    this.#parsed = parsed;
  }

  /**
   * A manager pinning `count` workers to the CPUs of this one that have the fewest live
   * workers (what `cluster.adapt` launches): pools that grow and shrink keep one worker per CPU.
   */
  override withWorkers(count: number): LocalAffinityManager {
    const free = [...this.cpus].sort((a, b) => (this.#inUse.get(a) ?? 0) - (this.#inUse.get(b) ?? 0) || this.cpus.indexOf(a) - this.cpus.indexOf(b));
    // One pinned worker per CPU: a launch never starts more workers than this manager has CPUs.
    const picked = free.slice(0, Math.max(1, Math.min(count, free.length)));
    const { np: _np, mode: _mode, affinities: _affinities, ...rest } = this.#parsed;
    const derived = new LocalAffinityManager({ ...rest, affinities: picked });
    derived.#inUse = this.#inUse;
    return derived;
  }

  override manage(worker: WorkerConfig, event: WorkerEvent): void {
    const cpu = worker.taskIndex === null ? undefined : this.cpus[worker.taskIndex];
    if (cpu !== undefined) this.#inUse.set(cpu, Math.max(0, (this.#inUse.get(cpu) ?? 0) + (event === 'joined' ? 1 : -1)));
    super.manage(worker, event);
  }

  /** CPU of a worker of this manager, by its task index. */
  cpuOf(taskIndex: number): number | undefined {
    return this.cpus[taskIndex];
  }

  override toString(): string {
    return `LocalAffinityManager(${this.cpus.length} workers, ${this.mode}, CPUs ${this.cpus.join(',')})`;
  }
}

/**
 * `cluster.addprocs(new LocalAffinityManager(options))`, the shape of the other drivers'
 * `addprocsX(cluster, np, options)` helpers; `np` may also go inside `options`.
 * @returns the new workers' ids
 */
export function addprocsAffinity(cluster: Cluster, np?: number | LocalAffinityManagerOptions, options: LocalAffinityManagerOptions = {}): Promise<number[]> {
  const merged = typeof np === 'number' ? { ...options, np } : { ...np, ...options };
  return cluster.addprocs(new LocalAffinityManager(merged));
}
