// `pnpm bench`: every @cm figure measured beside its raw floor in the same run.
// `pnpm bench --json` prints machine-readable figures; `--only latency,bulk` runs a subset.
import os from 'node:os';
import { adaptive } from './cases/adaptive.mjs';
import { bulk } from './cases/bulk.mjs';
import { imap } from './cases/imap.mjs';
import { uneven } from './cases/uneven.mjs';
import { latency } from './cases/latency.mjs';
import { scale } from './cases/scale.mjs';
import { slurm } from './cases/slurm.mjs';
import { smallTasks } from './cases/small-tasks.mjs';
import { startup } from './cases/startup.mjs';
import { workerCalls } from './cases/worker-calls.mjs';

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(',') : undefined;

const encrypted = { clusterOptions: { encrypt: true } };
const cases = {
  latency,
  'latency-encrypted': () => latency({ ...encrypted, label: 'latency, encrypted' }),
  'small-tasks': smallTasks,
  imap,
  uneven,
  bulk,
  'bulk-encrypted': () => bulk({ ...encrypted, label: 'bulk data, encrypted' }),
  startup,
  slurm,
  scale,
  'worker-calls': workerCalls,
  adaptive,
};
const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` };

const rows = [];
for (const [name, run] of Object.entries(cases)) {
  if (only && !only.includes(name)) continue;
  if (!json) process.stderr.write(`bench: ${name}…\n`);
  rows.push(...(await run()));
}

if (json) {
  process.stdout.write(`${JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2)}\n`);
} else {
  const fmt = (v) => (v === undefined ? '' : v >= 1000 ? Math.round(v).toLocaleString('en') : v >= 10 ? v.toFixed(1) : v.toFixed(3));
  const table = [['what', 'measure', '@cm', 'floor', 'ratio', 'target', 'ok']];
  for (const r of rows)
    table.push([r.what, r.measure, fmt(r.cm), fmt(r.floor), r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`, r.target ?? '', r.pass === undefined ? '' : r.pass ? 'yes' : 'NO']);
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  console.log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}`);
  console.log(line(table[0]));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of table.slice(1)) console.log(line(row));
}
