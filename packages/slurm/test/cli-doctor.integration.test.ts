// `cm doctor slurm` on the real single-node Slurm: the command a site runs first, run as a
// user runs it (core's `cm` bin, @cm/slurm resolved by name from this package). Gated by
// slurmIsUp(): skipped locally when Slurm is not up, failing under CI=true.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { slurmIsUp } from './slurm-gate.js';

const up = slurmIsUp();
const here = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(path.dirname(createRequire(import.meta.url).resolve('@cm/core')), 'cli', 'main.js');
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cm-slurm-doctor-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

describe.skipIf(!up)('cm doctor slurm (real Slurm)', () => {
  it('passes every step, from sbatch to the cancelled job, with their times', async () => {
    const result = await execa(process.execPath, [bin, 'doctor', 'slurm', '--json', '--timeout', '90', '--partition', 'debug', '--time', '00:05:00', '--log-dir', logDir], {
      cwd: here,
      reject: false,
      timeout: 150_000,
    });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { ok: boolean; driver: string; steps: { step: string; ok: boolean; detail?: string }[] };
    expect(report).toMatchObject({ ok: true, driver: 'slurm' });
    expect(report.steps.map((s) => s.step)).toEqual(['submitted', 'queued', 'started', 'connected', 'authenticated', 'round trip', 'cancelled']);
    expect(report.steps[0]!.detail).toMatch(/^job \d+/);
    expect(result.exitCode).toBe(0);
  }, 160_000);

  it('stops at `submitted` with sbatch’s own words for a partition that does not exist (exit 1)', async () => {
    const result = await execa(process.execPath, [bin, 'doctor', 'slurm', '--partition', 'nope', '--log-dir', logDir], { cwd: here, reject: false, timeout: 60_000 });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^FAIL submitted .*sbatch refused the job: "Invalid partition name specified"/m);
    expect(result.stderr).toContain('cm doctor: submitted failed — the scheduler did not take the job');
  }, 70_000);
});
