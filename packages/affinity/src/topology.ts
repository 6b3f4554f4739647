/**
 * Reading the machine's CPU topology: which logical CPUs exist, which socket each sits on
 * and which of them are hardware-thread siblings of one core. Read from sysfs (the root is
 * a parameter, so tests build fake trees), with `lscpu -p` as the fallback for systems whose
 * sysfs has no topology files.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Where Linux describes the CPUs. */
export const DEFAULT_SYSFS_CPU_ROOT = '/sys/devices/system/cpu';

/** One logical CPU (what `taskset -c` takes). */
export interface LogicalCpu {
  /** The kernel's CPU number. */
  readonly id: number;
  /** Socket (physical package) it sits on. */
  readonly socket: number;
  /** Identifies its physical core machine-wide: hardware-thread siblings share this value. */
  readonly core: number;
}

/** The logical CPUs of a machine (or the subset this process may use). */
export interface CpuTopology {
  readonly cpus: readonly LogicalCpu[];
}

/**
 * Parse a kernel CPU list such as `0-3,8,10-11` (sysfs `online`, `thread_siblings_list`,
 * `/proc/<pid>/status` `Cpus_allowed_list`).
 * @throws Error for text that is not a CPU list
 */
export function parseCpuList(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const ids: number[] = [];
  for (const part of trimmed.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new Error(`not a CPU list (range ${part} runs backwards): ${JSON.stringify(text)}`);
    for (let id = first; id <= last; id++) ids.push(id);
  }
  return ids;
}

/** Format CPU ids back into the kernel's compact list form, for messages. */
export function formatCpuList(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(',') || '(none)';
}

function readText(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

function onlineCpuIds(root: string): number[] {
  try {
    return parseCpuList(readText(path.join(root, 'online')));
  } catch {
    // Some kernels and containers have no `online` file; every cpuN directory then counts.
    return readdirSync(root)
      .map((name) => /^cpu(\d+)$/.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }
}

/**
 * Read the online CPUs and their sockets and cores from a sysfs tree laid out like
 * `/sys/devices/system/cpu` (`online`, `cpuN/topology/physical_package_id`,
 * `cpuN/topology/thread_siblings_list`).
 * @throws Error naming the file that could not be read
 */
export function readSysfsTopology(root: string = DEFAULT_SYSFS_CPU_ROOT): CpuTopology {
  const ids = onlineCpuIds(root);
  if (ids.length === 0) throw new Error(`no CPUs listed under ${root}`);
  const cpus = ids.map((id): LogicalCpu => {
    const dir = path.join(root, `cpu${id}`, 'topology');
    const socket = Number(readText(path.join(dir, 'physical_package_id')));
    const siblings = parseCpuList(readText(path.join(dir, 'thread_siblings_list')));
    // The lowest sibling names the core: core_id alone repeats across sockets and dies.
    const core = Math.min(id, ...siblings);
    // Some platforms report -1 when the package is unknown: one socket then.
    return { id, socket: Number.isInteger(socket) && socket >= 0 ? socket : 0, core };
  });
  return { cpus };
}

/**
 * Parse `lscpu -p=CPU,CORE,SOCKET` output (comment lines start with `#`; a missing socket
 * or core is an empty field).
 */
export function parseLscpu(text: string): CpuTopology {
  const rows: Array<{ id: number; coreColumn: number | undefined; socket: number }> = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [cpu, core, socket] = line.split(',').map((field) => (field.trim() === '' ? undefined : Number(field)));
    if (cpu === undefined || !Number.isInteger(cpu)) throw new Error(`unexpected lscpu line: ${JSON.stringify(line)}`);
    rows.push({ id: cpu, coreColumn: core, socket: socket ?? 0 });
  }
  // Name each core by its lowest CPU id, as readSysfsTopology does, so both readers agree.
  const lowestCpuOfCore = new Map<number, number>();
  for (const row of rows) {
    if (row.coreColumn !== undefined) lowestCpuOfCore.set(row.coreColumn, Math.min(row.id, lowestCpuOfCore.get(row.coreColumn) ?? row.id));
  }
  const cpus = rows.map((row): LogicalCpu => ({ id: row.id, socket: row.socket, core: row.coreColumn === undefined ? row.id : lowestCpuOfCore.get(row.coreColumn)! }));
  return { cpus };
}

/**
 * The CPU topology of this machine: sysfs, else `lscpu -p`.
 * @throws Error when neither can be read
 */
export function readCpuTopology(root: string = DEFAULT_SYSFS_CPU_ROOT): CpuTopology {
  try {
    return readSysfsTopology(root);
  } catch (sysfsError) {
    if (root !== DEFAULT_SYSFS_CPU_ROOT) throw sysfsError;
    try {
      return parseLscpu(execFileSync('lscpu', ['-p=CPU,CORE,SOCKET'], { encoding: 'utf8', timeout: 5_000 }));
    } catch (lscpuError) {
      throw new Error(`cannot read the CPU topology from ${root} (${(sysfsError as Error).message}) or from \`lscpu -p\` (${(lscpuError as Error).message})`);
    }
  }
}

/**
 * CPUs this process may run on (`Cpus_allowed_list` in `/proc/self/status`): a cgroup, a
 * batch job or an outer `taskset` may allow fewer than the machine has. Undefined when the
 * file cannot be read, meaning no known restriction.
 */
export function readAllowedCpus(statusFile = '/proc/self/status'): number[] | undefined {
  try {
    const line = /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(statusFile, 'utf8'));
    return line?.[1] === undefined ? undefined : parseCpuList(line[1]);
  } catch {
    return undefined;
  }
}
