/**
 * Running scheduler commands: the one exec wrapper of the batch machinery, submission with
 * retry and backoff, and the synchronous cancel used while the master is being interrupted.
 * @module
 */
import { execa, execaSync } from 'execa';
import { sleep } from '../util/backoff.js';
import type { Argv, CommandOutput, SchedulerDriver } from './driver.js';
import { SchedulerError } from './errors.js';

/** Longest a status or cancel command may take before it counts as failed. */
const COMMAND_TIMEOUT_MS = 60_000;
/** Submission can be slow when the controller is busy (sbatch retries by itself); still bounded. */
const SUBMIT_TIMEOUT_MS = 300_000;

export interface RunOptions {
  /** Variables added to the master's environment for this command (never put on its command line). */
  env?: Readonly<Record<string, string>> | undefined;
  timeoutMs?: number | undefined;
  /** Working directory of the command. */
  cwd?: string | undefined;
}

/**
 * Run one scheduler command and return what it printed, whatever its exit code.
 * @throws SchedulerError when the command cannot be run at all (not installed, not on PATH) or times out
 */
export async function runSchedulerCommand(scheduler: string, argv: Argv, options: RunOptions = {}): Promise<CommandOutput> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('runSchedulerCommand: empty command');
  const result = await execa(file, args, {
    env: options.env,
    cwd: options.cwd,
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
    stripFinalNewline: true,
  });
  return checkRan(scheduler, argv, result);
}

/** Like {@link runSchedulerCommand}, blocking: for signal and exit handlers, where nothing asynchronous runs any more. */
export function runSchedulerCommandSync(scheduler: string, argv: Argv, options: RunOptions = {}): CommandOutput {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('runSchedulerCommandSync: empty command');
  const result = execaSync(file, args, { env: options.env, reject: false, stdin: 'ignore', timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS });
  return checkRan(scheduler, argv, result);
}

interface ExecResult {
  stdout?: string | string[] | Uint8Array | unknown[] | undefined;
  stderr?: string | string[] | Uint8Array | unknown[] | undefined;
  exitCode?: number | undefined;
  code?: string | undefined;
  timedOut?: boolean;
  signal?: string | undefined;
  shortMessage?: string;
}

/** execa gives strings for our options (no lines or buffers mode); anything else counts as empty. */
function text(value: ExecResult['stdout']): string {
  return typeof value === 'string' ? value : '';
}

function checkRan(scheduler: string, argv: Argv, result: ExecResult): CommandOutput {
  const output = { stdout: text(result.stdout), stderr: text(result.stderr), exitCode: result.exitCode };
  if (result.code === 'ENOENT') {
    throw new SchedulerError(`\`${argv[0]}\` was not found`, {
      scheduler,
      command: argv,
      exitCode: undefined,
      hint: `is this a ${scheduler} submit host? Put the ${scheduler} client commands on PATH (e.g. \`module load ${scheduler}\`)`,
    });
  }
  if (result.timedOut) {
    throw new SchedulerError(`\`${argv[0]}\` did not finish in time and was stopped`, { ...output, scheduler, command: argv, hint: `the ${scheduler} controller may be overloaded or down` });
  }
  if (output.exitCode === undefined) {
    throw new SchedulerError(`\`${argv[0]}\` could not be run: ${result.shortMessage ?? result.signal ?? 'unknown error'}`, { ...output, scheduler, command: argv });
  }
  return output;
}

/** How submission retries: the delays between attempts (like ClusterManagers.jl's `retry_delays`). */
export interface SubmitOptions {
  /** Environment for the submit command: the workers' connection settings, including the secret. */
  env: Readonly<Record<string, string>>;
  /** Delays in ms before each retry of a transient failure; its length is the number of retries. */
  retryDelays: readonly number[];
  /** Stops retrying (a submission already running is allowed to finish, so its job id is not lost). */
  signal?: AbortSignal | undefined;
  cwd?: string | undefined;
  /** Workers the launch expects (for the error's `expected`). */
  expected?: number | undefined;
  /** Told about each retry, e.g. to show it as progress. */
  onRetry?(attempt: number, delayMs: number, said: string): void;
}

/**
 * Submit the job script and return its job id, retrying transient failures with the given
 * delays.
 * @throws SchedulerError when the scheduler refuses the job, or keeps failing transiently
 */
export async function submitJob(driver: SchedulerDriver, scriptPath: string, options: SubmitOptions): Promise<string> {
  const argv = driver.submit.command(scriptPath);
  for (let attempt = 1; ; attempt++) {
    const output = await runSchedulerCommand(driver.name, argv, { env: options.env, timeoutMs: SUBMIT_TIMEOUT_MS, cwd: options.cwd });
    if (output.exitCode === 0) {
      const id = driver.submit.parseJobId(output.stdout);
      if (id) return id;
      throw new SchedulerError(`${argv[0]} succeeded but printed no job id @cm understands`, {
        ...output,
        scheduler: driver.name,
        command: argv,
        attempts: attempt,
        expected: options.expected,
        hint: `expected a job id in its output ${JSON.stringify(output.stdout.slice(0, 200))}; a site wrapper around ${argv[0]} may change its output`,
      });
    }
    const transient = driver.submit.transient?.test(output.stderr) ?? false;
    const delay = options.retryDelays[attempt - 1];
    if (!transient || delay === undefined || options.signal?.aborted) {
      throw new SchedulerError(`${argv[0]} refused the job`, {
        ...output,
        scheduler: driver.name,
        command: argv,
        attempts: attempt,
        expected: options.expected,
        hint: transient ? `the ${driver.name} controller kept failing; try again later, or allow more retries with \`submitRetryDelays\`` : driver.submit.hint?.(output.stderr),
      });
    }
    options.onRetry?.(attempt, delay, output.stderr.trim().split('\n').at(-1) ?? '');
    await sleep(delay, options.signal).catch(() => undefined);
    if (options.signal?.aborted) {
      throw new SchedulerError(`${argv[0]} was not retried: the launch was cancelled`, { ...output, scheduler: driver.name, command: argv, attempts: attempt, expected: options.expected });
    }
  }
}
