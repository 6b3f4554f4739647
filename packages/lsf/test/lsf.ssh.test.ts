// `sshCommand`: every LSF command and every file the jobs read go through ssh to a "login
// node" — here a real OpenSSH server on loopback with its own config and keys — and the
// cluster secret is on no command line on the way (it crosses the hop on stdin).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from '@cm/core';
import { waitUntilGone } from '@cm/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LSFManager, lsfDriver } from '../src/index.js';
import { type Simulator, eventually, filesUnder } from './sim.js';
import { createSimulator } from '@cm/tooling/simulators';
import { type LoopbackSshd, sshdIsInstalled, startLoopbackSshd } from './sshd.js';

const installed = sshdIsInstalled();

describe.skipIf(!installed)('LSF on a login node through sshCommand (real sshd on loopback)', () => {
  let sshd: LoopbackSshd;
  let sim: Simulator;
  let work: string;
  beforeAll(async () => {
    sshd = await startLoopbackSshd();
    // The simulator stands for the login node's LSF: NOT on this process's PATH, only there.
    sim = createSimulator('lsf', { killGraceMs: 500 });
    work = mkdtempSync(path.join(os.tmpdir(), 'cm-lsf-ssh-'));
  });
  afterAll(async () => {
    await sim?.close();
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('submits, watches and cancels through ssh; the job runs; the secret is on no ssh command line', async () => {
    // What a site does: the login node's LSF environment comes from LSF's profile.lsf, which
    // a non-interactive ssh command does not read, so the ssh command sources it first.
    const profile = path.join(work, 'profile.lsf');
    writeFileSync(
      profile,
      Object.entries(sim.env)
        .map(([name, value]) => `export ${name}='${value}'\n`)
        .join(''),
    );
    // A stand-in for `ssh` that records every argument it is given, then runs the real one.
    const argvLog = path.join(work, 'ssh-argv.log');
    const sshWrapper = path.join(work, 'ssh');
    writeFileSync(sshWrapper, `#!/bin/sh\nfor arg in "$@"; do printf '%s\\n' "$arg"; done >> '${argvLog}'\nprintf '%s\\n' '-----' >> '${argvLog}'\nexec /usr/bin/ssh "$@"\n`);
    chmodSync(sshWrapper, 0o755);
    const sshCommand = [sshWrapper, ...sshd.clientArgs, '.', profile, '&&'];
    const logDir = path.join(work, 'logs');

    expect(process.env.PATH?.includes(sim.binDir) ?? false).toBe(false);
    const secret = randomBytes(32).toString('base64url');
    const cluster = new Cluster({ logger: { debug() {}, info() {}, warn() {}, error() {} }, onOutput: () => {}, secret });
    const manager = new LSFManager(2, { sshCommand, logDir, progress: 'none', pollMs: 100, pollMaxMs: 500, queue: 'short' });
    let jobId: string | undefined;
    try {
      const ids = await cluster.addprocs(manager);
      [jobId] = manager.jobIds();
      const seen = await cluster.everywhere(() => ({ jobId: process.env.LSB_JOBID, index: process.env.LSB_JOBINDEX, queue: process.env.LSB_QUEUE }));
      expect(seen.map((s) => s.jobId)).toEqual(ids.map(() => jobId));
      expect(seen.map((s) => s.index).sort()).toEqual(['1', '2']);
      expect(seen.map((s) => s.queue)).toEqual(ids.map(() => 'short'));
      // The secret file was written on the "login node" through ssh, private.
      const secretFiles = readdirSync(logDir).filter((name) => name.endsWith('.secret'));
      expect(secretFiles).toHaveLength(1);
      expect(statSync(path.join(logDir, secretFiles[0]!)).mode & 0o077).toBe(0);
      // The script reached bsub on stdin, through ssh.
      expect(sim.submissions()).toHaveLength(1);
      expect(sim.submissions()[0]).toMatchObject({ stdin: true, argv: [] });
    } finally {
      await cluster.close();
    }
    await waitUntilGone(lsfDriver, [jobId!], 20_000, manager.runner);
    await eventually(() => expect(sim.processes()).toEqual([]));
    expect(readdirSync(logDir).filter((name) => name.endsWith('.secret'))).toEqual([]);

    const calls = readFileSync(argvLog, 'utf8').split('-----\n').filter(Boolean);
    const remote = calls.map((call) => call.trim().split('\n').at(-1) ?? '');
    expect(remote.some((line) => line.startsWith('bsub'))).toBe(true);
    expect(remote.some((line) => /^sh -c .*bjobs -a -o/.test(line))).toBe(true);
    expect(remote.some((line) => line.startsWith('bkill '))).toBe(true);
    expect(remote.some((line) => /^sh -c .*cat > .*\.secret/.test(line))).toBe(true);
    expect(readFileSync(argvLog, 'utf8').includes(secret)).toBe(false);
    // Nor anywhere the simulator (the login node's LSF) spooled or logged.
    for (const file of filesUnder(sim.dir)) expect(readFileSync(file, 'utf8').includes(secret), file).toBe(false);
    expect(existsSync(argvLog)).toBe(true);
  });
});
