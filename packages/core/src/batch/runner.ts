/**
 * The one seam every scheduler command and every file the scheduler must see go through:
 * on this machine (execa, node:fs), or on a login node through an ssh command
 * (ClusterManagers.jl's `ssh_cmd`). Submit, status, cancel, the blocking cancel at exit, the
 * job script, the secret file and the job's stderr tail all use a manager's one runner, so a
 * site that can only reach its scheduler from a login node changes one option.
 *
 * Secrets never go on a command line: a file's content (the secret file included) crosses
 * the ssh hop on stdin.
 * @module
 */
import { open, mkdir, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import { debug, formatMs } from '../util/debug.js';
import { shellJoin, shellQuote } from '../util/shell.js';
import { STDERR_TAIL_BYTES, STDERR_TAIL_LINES } from '../util/limits.js';
import type { Argv, CommandOutput } from './driver.js';
import { SchedulerError } from './errors.js';

/** Longest a status or cancel command may take before it counts as failed. */
export const COMMAND_TIMEOUT_MS = 60_000;

/** How one command runs. */
export interface RunOptions {
  /** Variables added to the environment of a local command (an ssh hop does not carry them). */
  env?: Readonly<Record<string, string>> | undefined;
  /** Text for the command's stdin (`bsub < job.sh`); without it stdin is empty. */
  stdin?: string | undefined;
  timeoutMs?: number | undefined;
  /** Stops the command (SIGTERM) when aborted; it then fails with a SchedulerError saying so. */
  signal?: AbortSignal | undefined;
}

/** Where a manager's scheduler commands run, and how files reach the machine they run on. */
export interface CommandRunner {
  /** For messages: `undefined` for this machine, else e.g. `through \`ssh login1\``. */
  readonly where: string | undefined;
  /**
   * Run one scheduler command and return what it printed, whatever its exit code.
   * @throws SchedulerError when the command cannot be run at all (not installed, not on PATH) or times out
   */
  run(scheduler: string, argv: Argv, options?: RunOptions): Promise<CommandOutput>;
  /** Like `run`, blocking: for signal and exit handlers, where nothing asynchronous runs any more. */
  runSync(scheduler: string, argv: Argv, options?: RunOptions): CommandOutput;
  /** The absolute form of a path on the machine the commands run on (relative ones stay relative to the login home over ssh). */
  resolve(file: string): string;
  /** Write a file there, its directory created (0700 when new); `mode` holds before any byte lands. */
  writeFile(file: string, content: string, mode: number): Promise<void>;
  /** The last lines of a file there, or undefined when it cannot be read (yet). */
  readTail(file: string, lines?: number): Promise<string | undefined>;
  /** Remove files there; missing ones are fine. */
  remove(files: readonly string[]): Promise<void>;
  /** Like `remove`, blocking (exit handlers). */
  removeSync(files: readonly string[]): void;
}

interface ExecResult {
  stdout?: unknown;
  stderr?: unknown;
  exitCode?: number | undefined;
  code?: string | undefined;
  timedOut?: boolean;
  isCanceled?: boolean;
  signal?: string | undefined;
  shortMessage?: string;
  durationMs?: number;
}

/** execa gives strings for our options (no lines or buffers mode); anything else counts as empty. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function checkRan(scheduler: string, argv: Argv, result: ExecResult, where: string | undefined): CommandOutput {
  const output = { stdout: text(result.stdout), stderr: text(result.stderr), exitCode: result.exitCode };
  const on = where ? ` (${where})` : '';
  debug(
    () => `${scheduler}: \`${shellJoin(argv)}\`${on} exited ${result.exitCode ?? result.code ?? result.signal ?? '?'}${result.timedOut ? ' (timed out)' : ''} in ${formatMs(result.durationMs ?? 0)}`,
  );
  if (result.code === 'ENOENT') {
    throw new SchedulerError(`\`${argv[0]}\` was not found${on}`, {
      scheduler,
      command: argv,
      exitCode: undefined,
      hint: `is this a ${scheduler} submit host? Put the ${scheduler} client commands on PATH (e.g. \`module load ${scheduler}\`), or run them on a login node with \`sshCommand\``,
    });
  }
  if (result.isCanceled) {
    throw new SchedulerError(`\`${argv[0]}\` was stopped${on}: the launch it served was abandoned`, { ...output, scheduler, command: argv });
  }
  if (result.timedOut) {
    throw new SchedulerError(`\`${argv[0]}\` did not finish in time and was stopped${on}`, { ...output, scheduler, command: argv, hint: `the ${scheduler} controller may be overloaded or down` });
  }
  if (output.exitCode === undefined) {
    throw new SchedulerError(`\`${argv[0]}\` could not be run${on}: ${result.shortMessage ?? result.signal ?? 'unknown error'}`, { ...output, scheduler, command: argv });
  }
  return output;
}

function execOptions(options: RunOptions) {
  return {
    env: options.env,
    reject: false,
    timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
    stripFinalNewline: true,
    ...(options.stdin === undefined ? { stdin: 'ignore' as const } : { input: options.stdin }),
  };
}

async function readLocalTail(file: string, lines: number): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, STDERR_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return lastLines(buffer.toString('utf8'), lines);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** The last `count` non-empty lines of `text`, or undefined when there are none. */
export function lastLines(text: string, count: number = STDERR_TAIL_LINES): string | undefined {
  return text.split('\n').filter(Boolean).slice(-count).join('\n') || undefined;
}

/** Scheduler commands and files on this machine. */
export const localRunner: CommandRunner = {
  where: undefined,
  async run(scheduler, argv, options = {}) {
    const [file, ...args] = argv;
    if (!file) throw new TypeError('runner: empty command');
    return checkRan(scheduler, argv, await execa(file, args, { ...execOptions(options), cancelSignal: options.signal }), undefined);
  },
  runSync(scheduler, argv, options = {}) {
    const [file, ...args] = argv;
    if (!file) throw new TypeError('runner: empty command');
    return checkRan(scheduler, argv, execaSync(file, args, execOptions(options)), undefined);
  },
  resolve: (file) => path.resolve(file),
  async writeFile(file, content, mode) {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // Remove first: `mode` applies only to a file that is created.
    await rm(file, { force: true });
    await writeFile(file, content, { mode, flag: 'wx' });
  },
  readTail: (file, lines = STDERR_TAIL_LINES) => readLocalTail(file, lines),
  async remove(files) {
    await Promise.all(files.map((file) => rm(file, { force: true })));
  },
  removeSync(files) {
    for (const file of files) rmSync(file, { force: true });
  },
};

/**
 * Scheduler commands and files on another machine, through an ssh command such as
 * `['ssh', '-o', 'BatchMode=yes', 'login1']`: each command becomes one shell-quoted remote
 * command line; file contents travel on stdin.
 */
export function sshRunner(sshCommand: readonly string[]): CommandRunner {
  const where = `through \`${shellJoin(sshCommand)}\``;
  const remote = (argv: Argv): Argv => [...sshCommand, shellJoin(argv)];
  const shell = (script: string): Argv => [...sshCommand, `sh -c ${shellQuote(script)}`];
  const runner: CommandRunner = {
    where,
    async run(scheduler, argv, options = {}) {
      const [file, ...args] = remote(argv);
      const result = await execa(file!, args, { ...execOptions({ ...options, env: undefined }), cancelSignal: options.signal });
      return checkRan(scheduler, argv, ssh255(result, sshCommand), where);
    },
    runSync(scheduler, argv, options = {}) {
      const [file, ...args] = remote(argv);
      return checkRan(scheduler, argv, ssh255(execaSync(file!, args, execOptions({ ...options, env: undefined })), sshCommand), where);
    },
    // Relative paths are relative to the login home, where ssh commands start.
    resolve: (file) => file,
    async writeFile(file, content, mode) {
      const dir = path.posix.dirname(file);
      const octal = mode.toString(8);
      const script = `umask 077 && mkdir -p ${shellQuote(dir)} && rm -f ${shellQuote(file)} && cat > ${shellQuote(file)} && chmod ${octal} ${shellQuote(file)}`;
      const output = await runner.run('ssh', shell(script), { stdin: content });
      if (output.exitCode !== 0) {
        throw new SchedulerError(`could not write ${file} ${where}`, {
          ...output,
          scheduler: 'ssh',
          command: shell(script),
          hint: 'check that the login node is reachable and the directory is writable',
        });
      }
    },
    async readTail(file, lines = STDERR_TAIL_LINES) {
      try {
        const output = await runner.run('ssh', [...sshCommand, shellJoin(['tail', '-n', String(lines), file])], {});
        return output.exitCode === 0 ? lastLines(output.stdout, lines) : undefined;
      } catch {
        return undefined;
      }
    },
    async remove(files) {
      if (files.length > 0) await runner.run('ssh', [...sshCommand, shellJoin(['rm', '-f', ...files])]);
    },
    removeSync(files) {
      if (files.length > 0) runner.runSync('ssh', [...sshCommand, shellJoin(['rm', '-f', ...files])], { timeoutMs: 15_000 });
    },
  };
  return runner;
}

/** ssh exits 255 when it could not reach the host: say so, rather than blaming the remote command. */
function ssh255(result: ExecResult, sshCommand: readonly string[]): ExecResult {
  if (result.exitCode !== 255) return result;
  const stderr = text(result.stderr);
  if (!/ssh:|Permission denied|Host key|Connection (refused|closed|timed out)|Could not resolve/i.test(stderr)) return result;
  return { ...result, exitCode: undefined, shortMessage: `\`${shellJoin(sshCommand)}\` could not reach the login node: ${stderr.trim().split('\n').at(-1) ?? ''}` };
}
