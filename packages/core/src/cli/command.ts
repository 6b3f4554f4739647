/**
 * What every `cm` command shares: its shape (name, usage, options, run), where it writes, and
 * how a driver's manager is made from the command line.
 * @module
 */
import { UsageError } from '../errors.js';
import { jobQueueOptionsSchema } from '../batch/options.js';
import type { ClusterManager } from '../manager/types.js';
import { type CommandLine, type OwnOptions, typedOptions, workerCount } from './args.js';
import { type LoadedDriver, loadDriver } from './descriptor.js';

/** Where a command writes, and the directory drivers are resolved from. */
export interface CommandIo {
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** One `cm` command. */
export interface Command {
  readonly name: string;
  /** One line for `cm --help`. */
  readonly summary: string;
  /** The command's `--help` text (usage, options, examples). */
  readonly help: string;
  readonly options: OwnOptions;
  /** @returns the exit code */
  run(line: CommandLine, io: CommandIo): Promise<number>;
}

/** Exit codes: 0 done, 1 what was asked failed, 2 the command line was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The driver named by the first positional, loaded. */
export async function driverOf(line: CommandLine, io: CommandIo, command: string): Promise<LoadedDriver> {
  const name = line.positionals[0];
  if (!name) throw new UsageError(`cm ${command} needs a driver: cm ${command} <driver> [options] (e.g. slurm, or a package name); see cm ${command} --help`, 'driver');
  return loadDriver(name, io.cwd);
}

/** A manager of the loaded driver from `-n` and the driver options on the command line. */
export function managerOf(loaded: LoadedDriver, line: CommandLine, defaultNp: number | undefined): ClusterManager {
  const np = workerCount(line.own.np, defaultNp);
  const options = typedOptions(line.driverOptions, [loaded.driver.optionsSchema, jobQueueOptionsSchema]);
  return loaded.driver.create(np, options);
}

/** Help text lines for the options every driver command takes. */
export const DRIVER_HELP = `Driver options: every other --name value is an option of the driver (--partition debug,
--cpus-per-task 2, -p debug; a bare --exclusive, or --exclusive= before a positional, is a
bare flag). Names are checked against the scheduler's own; a typo is refused with the
closest name. Site defaults (/etc/cm/config.json, ~/.config/cm/config.json, CM_<DRIVER>_*)
apply as in code: see \`cm config <driver>\`.

<driver> is a package name: a short name means @cm/<name> (slurm, sge, pbs, lsf, htcondor, scyld), simq (the
simulated scheduler of @cm/core/testing), or any package exporting \`cmDriver\`, resolved
from the current directory.`;
