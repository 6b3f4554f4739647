import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { Cluster, type ClusterOptions } from '../src/index.js';

const open: Cluster[] = [];

/** A cluster closed after the test, whatever happens in it. */
export function testCluster(options: ClusterOptions = {}): Cluster {
  const cluster = new Cluster({ logger: quietLogger(), ...options });
  open.push(cluster);
  return cluster;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** A logger that records warnings for assertions instead of printing them. */
export function quietLogger(): { warnings: string[]; debug(): void; info(): void; warn(m: string): void; error(m: string): void } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
}

/** Whether a process with this pid is running (an exited child its frozen parent has not reaped yet — a zombie — is not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Poll `check` until it is true or `timeoutMs` passes; returns the elapsed ms or throws. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - started;
}

export const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;
