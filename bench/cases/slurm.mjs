// Slurm addprocs of 4 workers (one job of 4 tasks) until all have joined, vs the floor
// measured in the same run: `sbatch` of a 4-task job until its batch script starts (it dials
// a TCP port, so the floor carries no polling delay either). Alternated, RUNS of each, medians.
// Needs a running Slurm (`bash tooling/schedulers/slurm.sh up`); without one it reports that.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Cluster } from '@cm/core';
import { percentile } from '../stats.mjs';

const RUNS = 5;
const WORKERS = 4;
const PARTITION = 'debug';

async function slurmIsUp() {
  const { exitCode, stdout } = await execa('sinfo', ['--noheader', '--partition', PARTITION, '--format=%a'], { reject: false, timeout: 10_000 });
  return exitCode === 0 && stdout.trim().startsWith('up');
}

/** Milliseconds from running sbatch until the job's batch script connects to `server`. */
async function sbatchToStart(server, script) {
  const connected = new Promise((resolve) => server.once('connection', resolve));
  const started = performance.now();
  const { stdout } = await execa('sbatch', ['--parsable', `--partition=${PARTITION}`, `--ntasks=${WORKERS}`, '--time=00:01:00', '--output=/dev/null', script]);
  const socket = await connected;
  const ms = performance.now() - started;
  socket.destroy(); // the script's read ends, and with it the job
  await execa('scancel', [stdout.trim().split(';')[0]], { reject: false });
  return ms;
}

async function addprocsMs() {
  const { SlurmManager } = await import('@cm/slurm');
  const cluster = new Cluster({ onOutput: () => {} });
  try {
    const started = performance.now();
    await cluster.addprocs(new SlurmManager(WORKERS, { partition: PARTITION, time: '00:05:00' }), { timeoutMs: 60_000 });
    return performance.now() - started;
  } finally {
    await cluster.close();
  }
}

export async function slurm() {
  if (!(await slurmIsUp())) return [{ what: 'start-up, Slurm', measure: `addprocs ${WORKERS} Slurm workers: skipped, Slurm is not up (bash tooling/schedulers/slurm.sh up)` }];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-bench-slurm-'));
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const script = path.join(dir, 'floor.sh');
  writeFileSync(script, `#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/${server.address().port}\ncat <&3 >/dev/null\n`);
  chmodSync(script, 0o755);
  try {
    const floors = [];
    const cms = [];
    for (let i = 0; i < RUNS; i++) {
      floors.push(await sbatchToStart(server, script));
      cms.push(await addprocsMs());
    }
    const floor = percentile(floors, 50);
    const cm = percentile(cms, 50);
    return [
      {
        what: 'start-up, Slurm',
        measure: `addprocs ${WORKERS} Slurm workers until all joined (ms), median of ${RUNS}; floor: sbatch to job start`,
        cm,
        floor,
        ratio: cm / floor,
        target: '<= floor + 300 ms',
        pass: cm <= floor + 300,
      },
      { what: 'start-up, Slurm', measure: '  addprocs minus the floor (ms)', cm: cm - floor },
    ];
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
