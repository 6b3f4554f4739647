// addprocs of 2 and of 8 local workers until all have joined, vs starting as many `node -e 0`;
// and the CPU a worker spends importing its runtime before it can dial, vs importing a
// one-line module (CPU, not wall time, so the neighbours' load moves it less).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { Cluster, LocalManager } from '@cm/core';
import { nodeStart } from '../floor.mjs';
import { medianOf } from '../stats.mjs';

const RUNS = 5;
const IMPORT_RUNS = 9;

/** The built worker runtime `cm-worker` imports (beside its entry, dist/worker/main.js). */
const workerRuntime = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('@cm/core')), 'worker', 'runtime.js')).href;

/** CPU ms a fresh `node` spends importing `url`. */
async function importCpuMs(url) {
  const script = `const c = process.cpuUsage(); await import(${JSON.stringify(url)}); const d = process.cpuUsage(c); console.log((d.user + d.system) / 1000);`;
  const { stdout } = await execa(process.execPath, ['--input-type=module', '-e', script]);
  return Number(stdout.trim());
}

export async function startup() {
  const rows = [];
  await nodeStart(1);
  for (const n of [2, 8]) {
    const floor = await medianOf(RUNS, () => nodeStart(n));
    const cm = await medianOf(RUNS, async () => {
      const cluster = new Cluster();
      await cluster.listen(); // listening is part of the master's start, not of addprocs
      const started = process.hrtime.bigint();
      await cluster.addprocs(new LocalManager(n));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await cluster.close();
      return seconds;
    });
    rows.push({ what: 'start-up', measure: `addprocs ${n} local workers (s)`, cm, floor, ratio: cm / floor, target: n === 2 ? '<= 0.5 s' : '', pass: n === 2 ? cm <= 0.5 : undefined });
  }
  const runtimeMs = await medianOf(IMPORT_RUNS, () => importCpuMs(workerRuntime));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-bench-import-'));
  const oneLine = path.join(dir, 'one-line.mjs');
  writeFileSync(oneLine, 'export const x = 1;\n');
  const oneLineMs = await medianOf(IMPORT_RUNS, () => importCpuMs(pathToFileURL(oneLine).href)).finally(() => rmSync(dir, { recursive: true, force: true }));
  rows.push({
    what: 'start-up',
    measure: `worker runtime import before dialling, CPU (ms), median of ${IMPORT_RUNS} vs a one-line module`,
    cm: runtimeMs,
    floor: oneLineMs,
    ratio: runtimeMs / oneLineMs,
  });
  return rows;
}
