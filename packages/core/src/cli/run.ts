/**
 * `cm run <driver> -n N script.mjs`: start N workers with a driver, hand the cluster to the
 * script's default export, and close everything when it is done — a job without writing the
 * setup and teardown.
 * @module
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { Cluster } from '../cluster/cluster.js';
import { UsageError } from '../errors.js';
import { type Command, DRIVER_HELP, EXIT, driverOf, managerOf } from './command.js';

/** What the script's default export is called with. */
export type RunScript = (cluster: Cluster, context: { args: string[]; workers: number[] }) => unknown;

export const runCommand: Command = {
  name: 'run',
  summary: 'run a script with N workers',
  options: { np: { type: 'string', short: 'n' }, json: { type: 'boolean' }, timeout: { type: 'string' } },
  help: `Usage: cm run <driver> -n N <script.mjs> [--json] [--timeout S] [driver options] [-- script args]

Starts N workers with <driver>, imports <script.mjs> and awaits its default export,
\`export default async function (cluster, { args, workers }) { … }\`, then closes the cluster
(every worker and job is stopped, also when the script throws). The value the function
returns is printed (as JSON with --json).

  -n N         workers (default: the driver's, e.g. every task of the allocation; else 1)
  --timeout S  seconds to wait for the workers to join (default: the driver's)
  --json       print the returned value as JSON

${DRIVER_HELP}

Example: cm run slurm -n 16 pi.mjs --partition compute --time 00:30:00`,
  async run(line, io) {
    const loaded = await driverOf(line, io, 'run');
    const scriptPath = line.positionals[1];
    if (!scriptPath) throw new UsageError('cm run needs a script: cm run <driver> -n N <script.mjs>', 'script');
    const file = path.resolve(io.cwd, scriptPath);
    const module = (await import(pathToFileURL(file).href).catch((error: Error) => {
      throw new UsageError(`cannot load ${file}: ${error.message}`, 'script');
    })) as { default?: unknown };
    if (typeof module.default !== 'function') throw new UsageError(`${file} has no default export function: write \`export default async function (cluster) { … }\``, 'script');
    const timeoutMs = line.own.timeout === undefined ? undefined : Number(line.own.timeout) * 1000;
    if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new UsageError(`--timeout must be a number of seconds > 0, got ${JSON.stringify(line.own.timeout)}`, 'timeout');
    const manager = managerOf(loaded, line, undefined);
    await using cluster = new Cluster();
    const workers = await cluster.addprocs(manager, { timeoutMs });
    const result = await (module.default as RunScript)(cluster, { args: line.positionals.slice(2), workers });
    if (line.own.json) io.out(`${JSON.stringify(result ?? null)}\n`);
    else if (result !== undefined) io.out(`${typeof result === 'string' ? result : inspect(result, { depth: 6, colors: false })}\n`);
    return EXIT.ok;
  },
};
