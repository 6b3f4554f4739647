/**
 * Master faults with local workers, one of them stuck in user code (`while (true) {}`): a
 * frozen master (SIGSTOP) keeps its connections open, so only heartbeats tell the workers it
 * is gone — the responsive ones notice on their event loop, the stuck one through its
 * watchdog thread. Every worker process must be gone within a stated bound.
 * (SIGKILL of the master with a stuck worker: hardening.test.ts.)
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { alive, waitFor } from '../helpers.js';

const fixture = new URL('./fixtures/fault-master.mjs', import.meta.url).pathname;
const HEARTBEAT = { intervalMs: 200, timeoutMs: 2_000 };
/**
 * A responsive worker leaves after the heartbeat timeout; a stuck one when its watchdog sees
 * nothing heard for timeout + one interval + its 2 s grace (~4.2 s). Bound: 20 s on a loaded machine.
 */
const GONE_BOUND_MS = 20_000;

describe('a frozen master (SIGSTOP) with local workers, one stuck in user code', () => {
  it.each(['plain', 'encrypt'] as const)(
    '%s: every worker process is gone within 20 s',
    async (mode) => {
      const spec = { np: 3, spin: true, clusterOptions: { heartbeat: HEARTBEAT, encrypt: mode === 'encrypt' } };
      const master = execa('node', [fixture, JSON.stringify(spec)], { reject: false, timeout: 120_000 });
      try {
        const ready = await Promise.race([
          new Promise<string>((resolve) => master.stdout.on('data', (d: Buffer) => d.toString().includes('READY') && resolve(d.toString()))),
          master.then((r) => Promise.reject(new Error(`the master exited first: ${String(r.stderr)}`))),
        ]);
        const { pids } = JSON.parse(/READY (.*)/.exec(ready)![1]!) as { pids: number[] };
        expect(pids).toHaveLength(3);
        expect(pids.every(alive)).toBe(true);
        master.kill('SIGSTOP');
        const elapsed = await waitFor(() => !pids.some(alive), GONE_BOUND_MS, 'every worker of the frozen master to exit');
        console.log(`[reliability] master SIGSTOP (${mode}, heartbeat ${HEARTBEAT.intervalMs}/${HEARTBEAT.timeoutMs} ms, one worker spinning): all 3 workers gone after ${elapsed} ms`);
      } finally {
        master.kill('SIGKILL');
        master.kill('SIGCONT');
        await master;
      }
    },
    60_000,
  );
});
