import { afterEach, describe, expect, it } from 'vitest';
import { BALANCED, COMPACT, cpuOrder, evenlySpreadOrder, placeWorkers } from '../src/placement.js';
import { type CpuTopology, readSysfsTopology } from '../src/topology.js';
import { type FakeCpu, adjacentSiblings, intelStyle, removeFakeSysfsTrees, writeFakeSysfs } from './fake-sysfs.js';

afterEach(removeFakeSysfsTrees);

/** Topology as the sysfs reader sees it, so placement is tested on what production code reads. */
function machine(cpus: FakeCpu[]): CpuTopology {
  return readSysfsTopology(writeFakeSysfs(cpus));
}

function socketOf(topology: CpuTopology, id: number): number {
  return topology.cpus.find((c) => c.id === id)!.socket;
}
function coreOf(topology: CpuTopology, id: number): number {
  return topology.cpus.find((c) => c.id === id)!.core;
}

describe('evenlySpreadOrder', () => {
  it('orders positions so that every prefix is spread out', () => {
    expect(evenlySpreadOrder(8)).toEqual([0, 4, 2, 6, 1, 5, 3, 7]);
    expect(evenlySpreadOrder(1)).toEqual([0]);
    expect(evenlySpreadOrder(0)).toEqual([]);
    const six = evenlySpreadOrder(6);
    expect([...six].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(six.slice(0, 2)).toEqual([0, 4]);
  });
});

describe('COMPACT', () => {
  it('fills CPUs 0, 1, 2, … in order, starting at CPU 0', () => {
    const topology = machine(intelStyle(2, 2, 2));
    expect(placeWorkers(topology, COMPACT, 1)).toEqual([0]);
    expect(placeWorkers(topology, COMPACT, 3)).toEqual([0, 1, 2]);
    expect(placeWorkers(topology, COMPACT, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('BALANCED', () => {
  it('puts two workers on two different sockets', () => {
    const topology = machine(intelStyle(2, 4, 2));
    const cpus = placeWorkers(topology, BALANCED, 2);
    expect(new Set(cpus.map((id) => socketOf(topology, id))).size).toBe(2);
  });

  it('uses every core once, alternating sockets, before any hardware-thread sibling', () => {
    for (const layout of [intelStyle(2, 4, 2), adjacentSiblings(2, 4, 2)]) {
      const topology = machine(layout);
      const order = cpuOrder(topology, BALANCED);
      expect([...order].sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
      const firstEight = order.slice(0, 8);
      expect(new Set(firstEight.map((id) => coreOf(topology, id))).size).toBe(8);
      expect(firstEight.map((id) => socketOf(topology, id))).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
      // Four workers: two per socket on cores spread apart (not the two first cores of each socket).
      const four = order.slice(0, 4);
      expect(four.map((id) => socketOf(topology, id))).toEqual([0, 1, 0, 1]);
    }
  });

  it('spreads cores evenly within a socket', () => {
    // Intel numbering, 2 sockets × 4 cores: socket 0 has cores 0-3, socket 1 cores 4-7.
    expect(placeWorkers(machine(intelStyle(2, 4, 2)), BALANCED, 4)).toEqual([0, 4, 2, 6]);
    // Siblings adjacent: cores are CPU pairs (0,1) (2,3) …; socket 1 starts at CPU 8.
    expect(placeWorkers(machine(adjacentSiblings(2, 4, 2)), BALANCED, 4)).toEqual([0, 8, 4, 12]);
  });

  it('puts a second worker on a core only after every core has one', () => {
    const topology = machine(adjacentSiblings(1, 2, 2));
    // Cores (0,1) and (2,3): first threads first.
    expect(placeWorkers(topology, BALANCED, 2)).toEqual([0, 2]);
    expect(placeWorkers(topology, BALANCED, 4)).toEqual([0, 2, 1, 3]);
  });

  it('keeps alternating sockets when one socket has fewer usable cores', () => {
    const full = intelStyle(2, 4, 1);
    // Only two cores of socket 1 are usable (as under a cgroup).
    const topology = machine(full.filter((cpu) => cpu.socket === 0 || cpu.id < 6));
    const order = cpuOrder(topology, BALANCED);
    expect(order.map((id) => socketOf(topology, id))).toEqual([0, 1, 0, 1, 0, 0]);
  });

  it('is the identity on a machine without sockets or hyper-threads to spread over', () => {
    expect(placeWorkers(machine(intelStyle(1, 2, 1)), BALANCED, 2)).toEqual([0, 1]);
  });
});

describe('placeWorkers', () => {
  it('refuses more workers than CPUs', () => {
    expect(() => placeWorkers(machine(intelStyle(1, 2, 1)), COMPACT, 3)).toThrow(/3 workers do not fit on 2 CPUs/);
  });
});
