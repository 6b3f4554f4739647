/**
 * What the Grid Engine integration tests ask the real Grid Engine directly (not through the
 * driver), so a driver bug cannot hide itself: every job in `qstat -u '*'`, a job's detail.
 */
import { Cluster } from '@cm/core';
import { execa } from 'execa';

/** Every job Grid Engine holds, any user: id, name, state (from `qstat -u '*' -xml`). */
export async function allJobs(): Promise<{ id: string; name: string; state: string }[]> {
  const { stdout } = await execa('qstat', ['-u', '*', '-xml']);
  return [...stdout.matchAll(/<job_list\b[^>]*>([\s\S]*?)<\/job_list>/g)].map(([, block]) => ({
    id: /<JB_job_number>(\d+)</.exec(block!)?.[1] ?? '',
    name: /<JB_name>([^<]*)</.exec(block!)?.[1] ?? '',
    state: /<state>([^<]*)</.exec(block!)?.[1] ?? '',
  }));
}

/**
 * Wait until Grid Engine holds none of these jobs (by id or name) any more — qrsh jobs and
 * deleted ones stay listed for a second or three. Returns what is still there after `timeoutMs`.
 */
export async function leftover(match: { ids?: readonly string[]; name?: string }, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ours = (await allJobs()).filter((job) => match.ids?.includes(job.id) || job.name === match.name).map((job) => `${job.id} ${job.name} ${job.state}`);
    if (ours.length === 0 || Date.now() > deadline) return ours;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Delete every job with one of these names (what a failed test may have left behind). */
export async function deleteNamed(names: readonly string[]): Promise<void> {
  const ids = (await allJobs()).filter((job) => names.includes(job.name)).map((job) => job.id);
  if (ids.length > 0) await execa('qdel', ids, { reject: false });
}

/** `qstat -j ID` as printed (stdout and stderr). */
export async function qstatJ(jobId: string): Promise<string> {
  const result = await execa('qstat', ['-j', jobId], { reject: false });
  return `${result.stdout}\n${result.stderr}`;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Clusters a test opens, closed after each test. */
export function clusters(): { open(secret?: string, onOutput?: (workerId: number, stream: 'stdout' | 'stderr', line: string) => void): Cluster; closeAll(): Promise<void> } {
  const list: Cluster[] = [];
  return {
    open: (secret, onOutput = () => {}) => {
      const cluster = new Cluster({ logger: quiet, onOutput, ...(secret ? { secret } : {}) });
      list.push(cluster);
      return cluster;
    },
    closeAll: async () => {
      await Promise.all(list.splice(0).map((cluster) => cluster.close()));
    },
  };
}
