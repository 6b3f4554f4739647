/**
 * `cm config <driver> [options]`: the options a manager of that driver would use after site
 * defaults — and where each value came from (the command line, a config file and section, a
 * `CM_*` variable, or the default) — so an administrator sees what a user gets.
 * @module
 */
import { SITE_CONFIG_ENV, siteConfigFiles } from '../batch/config.js';
import { UsageError } from '../errors.js';
import { type Command, DRIVER_HELP, EXIT, driverOf, managerOf } from './command.js';

interface ConfigEntry {
  option: string;
  value: unknown;
  source: string;
}

/** `code` is what the command line gave: say so. */
const sourceName = (source: string) => (source === 'code' ? 'command line' : source);

export const configCommand: Command = {
  name: 'config',
  summary: 'print the resolved site configuration and where each value came from',
  options: { np: { type: 'string', short: 'n' }, json: { type: 'boolean' } },
  help: `Usage: cm config <driver> [--json] [driver options]

Prints every option a manager of <driver> would use, after the site defaults, and where
each came from: the command line, a config file (/etc/cm/config.json, then
~/.config/cm/config.json, or the one file named by ${SITE_CONFIG_ENV}) and its section
("batch" or the driver's), a CM_BATCH_* or CM_<DRIVER>_* variable, or the default.

  --json    print {"driver", "files", "options": [{"option", "value", "source"}]}

${DRIVER_HELP}

Example: CM_SLURM_PARTITION=debug cm config slurm --account proj1`,
  async run(line, io) {
    const loaded = await driverOf(line, io, 'config');
    const manager = managerOf(loaded, line, 1);
    const describe = (manager as { configuration?: () => ConfigEntry[] }).configuration;
    if (typeof describe !== 'function') {
      throw new UsageError(`${loaded.packageName} (${manager.name}) reads no site configuration: its options are only what the command line gives`, 'driver');
    }
    const options = describe.call(manager).sort((a, b) => a.option.localeCompare(b.option));
    const files = siteConfigFiles().map((file) => file.path);
    if (line.own.json) {
      io.out(`${JSON.stringify({ driver: manager.name, package: loaded.packageName, files, options: options.map((o) => ({ ...o, source: sourceName(o.source) })) })}\n`);
      return EXIT.ok;
    }
    io.out(`${manager.name} (${loaded.packageName}); site config files, lowest precedence first: ${files.join(', ')}\n`);
    const width = Math.max(...options.map((o) => o.option.length));
    for (const { option, value, source } of options) io.out(`  ${option.padEnd(width)}  ${JSON.stringify(value)}  (${sourceName(source)})\n`);
    return EXIT.ok;
  },
};
