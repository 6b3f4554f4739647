/** Builds fake `/sys/devices/system/cpu` trees in a temp dir, so topology code is tested against machines we do not have. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FakeCpu {
  id: number;
  socket: number;
  /** CPU ids sharing this CPU's core (including itself). */
  siblings: number[];
}

const written: string[] = [];

/** Delete every tree written so far (call from afterEach). */
export function removeFakeSysfsTrees(): void {
  for (const root of written.splice(0)) rmSync(root, { recursive: true, force: true });
}

/** Write a sysfs tree for `cpus` and return its root. `online: false` leaves out the `online` file. */
export function writeFakeSysfs(cpus: FakeCpu[], options: { online?: boolean } = {}): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cm-affinity-sysfs-'));
  written.push(root);
  if (options.online !== false) writeFileSync(path.join(root, 'online'), `${cpus.map((c) => c.id).join(',')}\n`);
  for (const cpu of cpus) {
    const dir = path.join(root, `cpu${cpu.id}`, 'topology');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'physical_package_id'), `${cpu.socket}\n`);
    writeFileSync(path.join(dir, 'thread_siblings_list'), `${cpu.siblings.join(',')}\n`);
  }
  return root;
}

/**
 * `sockets` × `coresPerSocket` × `threadsPerCore`, numbered the way Intel machines usually
 * are: first threads of every core 0..n-1, then the second threads.
 */
export function intelStyle(sockets: number, coresPerSocket: number, threadsPerCore: number): FakeCpu[] {
  const cores = sockets * coresPerSocket;
  const cpus: FakeCpu[] = [];
  for (let thread = 0; thread < threadsPerCore; thread++) {
    for (let core = 0; core < cores; core++) {
      const siblings = Array.from({ length: threadsPerCore }, (_, t) => core + t * cores);
      cpus.push({ id: core + thread * cores, socket: Math.floor(core / coresPerSocket), siblings });
    }
  }
  return cpus.sort((a, b) => a.id - b.id);
}

/** Same shape, numbered the way many AMD and ARM machines are: siblings adjacent (0,1 share a core). */
export function adjacentSiblings(sockets: number, coresPerSocket: number, threadsPerCore: number): FakeCpu[] {
  const cpus: FakeCpu[] = [];
  for (let core = 0; core < sockets * coresPerSocket; core++) {
    const siblings = Array.from({ length: threadsPerCore }, (_, t) => core * threadsPerCore + t);
    for (const id of siblings) cpus.push({ id, socket: Math.floor(core / coresPerSocket), siblings });
  }
  return cpus;
}
