/**
 * `cm script <driver> [options]`: the job script one `addprocs` would submit, without
 * submitting anything — to check a site's options, or to hand to an administrator.
 * @module
 */
import { UsageError } from '../errors.js';
import { type Command, DRIVER_HELP, EXIT, driverOf, managerOf } from './command.js';

export const scriptCommand: Command = {
  name: 'script',
  summary: 'print the job script that would be submitted',
  options: { np: { type: 'string', short: 'n' }, json: { type: 'boolean' } },
  help: `Usage: cm script <driver> [-n N] [--json] [driver options]

Prints the job script (or submit file) one addprocs of N workers would submit, with the
submit command, without submitting anything. The launch id in it is a placeholder.

  -n N      workers (default 1)
  --json    print {"driver", "package", "script"} as JSON

${DRIVER_HELP}

Example: cm script slurm -n 4 --partition debug --time 00:10:00`,
  async run(line, io) {
    const loaded = await driverOf(line, io, 'script');
    const manager = managerOf(loaded, line, 1);
    const preview = (manager as { jobScript?: () => string }).jobScript;
    if (typeof preview !== 'function') {
      throw new UsageError(`${loaded.packageName} (${manager.name}) submits no job script: its workers start with a command of their own; try \`cm doctor ${line.positionals[0]!}\``, 'driver');
    }
    const script = preview.call(manager);
    io.out(line.own.json ? `${JSON.stringify({ driver: manager.name, package: loaded.packageName, script })}\n` : script);
    return EXIT.ok;
  },
};
