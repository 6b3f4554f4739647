import { execFileSync } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList, parseLscpu, readAllowedCpus, readCpuTopology, readSysfsTopology } from '../src/topology.js';
import { intelStyle, removeFakeSysfsTrees, writeFakeSysfs } from './fake-sysfs.js';

afterEach(removeFakeSysfsTrees);
const fakeRoot = writeFakeSysfs;

describe('parseCpuList', () => {
  it('reads single ids, ranges and mixtures', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('0-1,4,6-7\n')).toEqual([0, 1, 4, 6, 7]);
    expect(parseCpuList('')).toEqual([]);
  });

  it('rejects text that is not a CPU list', () => {
    expect(() => parseCpuList('a-b')).toThrow(/not a CPU list/);
    expect(() => parseCpuList('3-1')).toThrow(/backwards/);
  });

  it('formats ids back into ranges', () => {
    expect(formatCpuList([0, 1, 2, 4, 6, 7])).toBe('0-2,4,6-7');
    expect(formatCpuList([3])).toBe('3');
    expect(formatCpuList([])).toBe('(none)');
  });
});

describe('readSysfsTopology', () => {
  it('reads sockets and hardware-thread siblings of a two-socket hyper-threaded machine', () => {
    // 2 sockets × 2 cores × 2 threads: CPUs 0-3 first threads, 4-7 their siblings.
    const topology = readSysfsTopology(fakeRoot(intelStyle(2, 2, 2)));
    expect(topology.cpus.map((c) => c.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(topology.cpus.map((c) => c.socket)).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    // Siblings share a core key; different cores do not.
    expect(topology.cpus.map((c) => c.core)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('lists the cpuN directories when there is no `online` file', () => {
    const topology = readSysfsTopology(fakeRoot(intelStyle(1, 3, 1), { online: false }));
    expect(topology.cpus.map((c) => c.id)).toEqual([0, 1, 2]);
  });

  it('names the file it could not read', () => {
    const root = fakeRoot(intelStyle(1, 2, 1));
    unlinkSync(path.join(root, 'cpu1', 'topology', 'physical_package_id'));
    expect(() => readSysfsTopology(root)).toThrow(/cpu1\/topology\/physical_package_id/);
    // A non-default root never silently falls back to this machine's lscpu.
    expect(() => readCpuTopology(root)).toThrow(/physical_package_id/);
  });

  it('reads this machine: every online CPU once', () => {
    const online = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
    const topology = readCpuTopology();
    expect(topology.cpus.map((c) => c.id)).toEqual(online);
    expect(topology.cpus.length).toBe(os.cpus().length);
  });
});

describe('parseLscpu', () => {
  it('reads `lscpu -p=CPU,CORE,SOCKET` and names cores by their lowest CPU, like sysfs', () => {
    const text = ['# The following is the parsable format', '# CPU,Core,Socket', '0,0,0', '1,1,1', '2,0,0', '3,1,1', ''].join('\n');
    expect(parseLscpu(text).cpus).toEqual([
      { id: 0, socket: 0, core: 0 },
      { id: 1, socket: 1, core: 1 },
      { id: 2, socket: 0, core: 0 },
      { id: 3, socket: 1, core: 1 },
    ]);
  });

  it('agrees with sysfs on this machine', () => {
    const fromLscpu = parseLscpu(execFileSync('lscpu', ['-p=CPU,CORE,SOCKET'], { encoding: 'utf8' }));
    expect(fromLscpu).toEqual(readSysfsTopology());
  });
});

describe('readAllowedCpus', () => {
  it('reads Cpus_allowed_list from a status file', () => {
    const file = path.join(os.tmpdir(), `cm-affinity-status-${process.pid}`);
    writeFileSync(file, 'Name:\tnode\nCpus_allowed:\t5\nCpus_allowed_list:\t0,2\nMems_allowed_list:\t0\n');
    try {
      expect(readAllowedCpus(file)).toEqual([0, 2]);
    } finally {
      unlinkSync(file);
    }
  });

  it('is undefined (no known restriction) when the file cannot be read', () => {
    expect(readAllowedCpus('/nonexistent/status')).toBeUndefined();
  });

  it('reads this process', () => {
    expect(readAllowedCpus()?.length).toBe(os.availableParallelism());
  });
});
