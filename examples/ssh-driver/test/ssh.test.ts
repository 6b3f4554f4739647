// The SSH driver against a real sshd on loopback: core's conformance suite (no queue, so no
// pendingOptions), then the driver's own cases — workers really come through sshd, the
// secret is on no command line, an unreachable host fails the launch with what to do.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from '@cm/core';
import { describeBatchDriver } from '@cm/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SSHManager } from '../src/index.js';
import { type LoopbackSshd, sshdIsInstalled, startLoopbackSshd } from './sshd.js';

const installed = sshdIsInstalled();
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-ssh-driver-'));
// Started at load: the suite creates a manager while it registers its cases.
const sshd: LoopbackSshd = installed ? await startLoopbackSshd() : ({ host: '', ssh: [], port: 0, stop: async () => {} } satisfies LoopbackSshd);
afterAll(async () => {
  await sshd.stop();
  rmSync(logDir, { recursive: true, force: true });
});
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Every process's command line, to look for the secret in. */
function commandLines(): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    });
}

describe.skipIf(!installed)('SSH driver (real sshd on loopback)', () => {
  describeBatchDriver(
    { describe, it },
    {
      name: 'ssh',
      create: (np, options) => new SSHManager(np, { hosts: [sshd.host], ssh: sshd.ssh, ...options }),
      baseOptions: { logDir, progress: 'none' },
      timeoutMs: 60_000,
      additionalTests: ({ create, cluster }) => {
        it('starts each worker through sshd, and puts the secret on no command line', async () => {
          const secret = randomBytes(32).toString('base64url');
          const c = new Cluster({ logger: quiet, onOutput: () => {}, secret });
          try {
            await c.addprocs(create(2));
            const seen = await c.everywhere(() => ({ ssh: process.env.SSH_CONNECTION ?? '', index: process.env.CM_TASK_INDEX }));
            // SSH_CONNECTION is set by sshd for the sessions it runs: "client port server port".
            expect(seen.map((s) => s.ssh.split(' ')[3])).toEqual([String(sshd.port), String(sshd.port)]);
            expect(seen.map((s) => s.index).sort()).toEqual(['0', '1']);
            expect(commandLines().filter((line) => line.includes(secret))).toEqual([]);
          } finally {
            await c.close();
          }
        });

        it('fails the launch with ssh’s words and what to do when the host cannot be reached', async () => {
          const unreachable = sshd.ssh.map((word) => (word === String(sshd.port) ? '1' : word));
          const error = await cluster()
            .addprocs(create(1, { ssh: unreachable }))
            .then(
              () => undefined,
              (e: Error) => e,
            );
          expect(error?.name).toBe('LaunchError');
          expect(error?.message).toMatch(/Connection refused/);
          expect(error?.message).toContain('the host cannot be reached over ssh');
        });
      },
    },
  );
});
