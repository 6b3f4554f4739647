#!/usr/bin/env node
/**
 * `cm`: the command line of @cm — `script`, `doctor`, `run` and `config` for any driver,
 * ours or a third party's (docs/cli.md). Exit codes: 0 done, 1 failed, 2 wrong command line.
 * @module
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from './args.js';
import { type Command, type CommandIo, EXIT } from './command.js';
import { configCommand } from './config.js';
import { doctorCommand } from './doctor.js';
import { runCommand } from './run.js';
import { scriptCommand } from './script.js';
import { UsageError } from '../errors.js';

const COMMANDS: readonly Command[] = [scriptCommand, doctorCommand, runCommand, configCommand];

const HELP = `Usage: cm <command> <driver> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n')}

\`cm <command> --help\` describes each. <driver> is slurm, sge, pbs, lsf, htcondor, scyld, simq,
or the name of any package that exports \`cmDriver\`, resolved from the current directory.
Exit codes: 0 done, 1 failed, 2 wrong command line.`;

/** Run `cm` with these arguments. @returns the exit code */
export async function main(args: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) io.err(`${HELP}\n`);
    else io.out(`${HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`cm: no command "${name}"; the commands are ${COMMANDS.map((c) => c.name).join(', ')} (cm --help)\n`);
    return EXIT.usage;
  }
  try {
    const line = parseCommandLine(rest, command.options);
    if (line.own.help) {
      io.out(`${command.help}\n`);
      return EXIT.ok;
    }
    return await command.run(line, io);
  } catch (error) {
    const usage = error instanceof UsageError;
    io.err(`cm ${command.name}: ${(error as Error).message ?? String(error)}\n`);
    return usage ? EXIT.usage : EXIT.failed;
  }
}

const invoked = process.argv[1] ? realpathSync(process.argv[1]) : undefined;
if (invoked === fileURLToPath(import.meta.url)) {
  const io: CommandIo = { cwd: process.cwd(), out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  process.exitCode = await main(process.argv.slice(2), io);
}
