/**
 * Defect 1 of issue 8: a master whose local worker was lost while the program awaited it
 * exited silently with status 0 (nothing kept Node's event loop alive while the loss was
 * being explained). Each scenario runs the user's program in its own process.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { alive } from '../helpers.js';

const program = new URL('./fixtures/lost-while-awaiting.mjs', import.meta.url).pathname;

async function run(scenario: string): Promise<{ exitCode: number | undefined; lines: string[] }> {
  const result = await execa('node', [program, scenario], { reject: false, timeout: 20_000 });
  return { exitCode: result.exitCode, lines: result.stdout.split('\n').filter(Boolean) };
}

describe('a worker lost while the program awaits it (issue 8, defect 1)', () => {
  it.each([
    ['exit-in-call', /^caught WorkerLostError worker 2 \(.+\) was lost \(connection-closed\): exited with code 1$/],
    ['sigkill-in-call', /^caught WorkerLostError worker 2 \(.+\) was lost \(connection-closed\): killed by SIGKILL$/],
    ['sigkill-in-pmap', /^caught WorkerLostError worker 2 \(.+\) was lost \(connection-closed\): killed by SIGKILL$/],
    ['sigstop-in-call', /^caught WorkerLostError worker 2 \(.+\) was lost \(heartbeat-timeout\): no heartbeat for 600 ms; killed by SIGKILL$/],
  ])(
    '%s: the await rejects with WorkerLostError, finally runs, close() resolves',
    async (scenario, expected) => {
      // Repeated: the defect showed in 5 to 29 runs out of 30.
      for (let round = 0; round < 3; round++) {
        const { exitCode, lines } = await run(scenario);
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(expected);
        expect(lines[1]).toBe('closed');
        expect(exitCode).toBe(0);
      }
    },
    90_000,
  );

  it('a worker frozen with SIGSTOP and declared lost is killed at once, not at close()', async () => {
    const { Cluster, LocalManager, WorkerLostError } = await import('../../src/index.js');
    const cluster = new Cluster({ logger: { debug() {}, info() {}, warn() {}, error() {} }, heartbeat: { intervalMs: 100, timeoutMs: 600 } });
    try {
      const [id] = await cluster.addprocs(new LocalManager(1));
      const pid = cluster.worker(id!).pid;
      const call = cluster.remotecallFetch(id!, () => new Promise(() => {}));
      const stoppedAt = Date.now();
      process.kill(pid, 'SIGSTOP');
      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerLostError);
      // Detected within its timeout (plus one heartbeat tick), then gone: no SIGCONT needed.
      expect(Date.now() - stoppedAt).toBeLessThan(600 + 100 + 1_000);
      expect(alive(pid)).toBe(false);
    } finally {
      await cluster.close();
    }
  });
});
