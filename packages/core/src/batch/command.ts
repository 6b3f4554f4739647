/**
 * Submitting a job: the submit command through the manager's runner, with retry and backoff
 * on transient failures, and the job id read from what it printed.
 * @module
 */
import { sleep } from '../util/backoff.js';
import type { SchedulerDriver } from './driver.js';
import { SchedulerError } from './errors.js';
import type { CommandRunner } from './runner.js';

/** Submission can be slow when the controller is busy (sbatch retries by itself); still bounded. */
const SUBMIT_TIMEOUT_MS = 300_000;
/**
 * How long a submit command that is running when its launch is abandoned may still finish
 * (so its job id is known and the job cancelled) before it is stopped.
 */
const SUBMIT_ABORT_GRACE_MS = 5_000;

/** How submission runs and retries: the delays between attempts (like ClusterManagers.jl's `retry_delays`). */
export interface SubmitOptions {
  runner: CommandRunner;
  /** The script's text, for drivers that submit it on stdin. */
  script: string;
  /** The user's free flags for the submit command (`sbatchFlags`, `qsubFlags`…). */
  extraFlags: readonly string[];
  /** The job's log paths in the layout's placeholders. */
  logs: { stdoutPath: string; stderrPath: string };
  /** Delays in ms before each retry of a transient failure; its length is the number of retries. */
  retryDelays: readonly number[];
  /** Stops retrying (a submission already running is allowed to finish, so its job id is not lost). */
  signal?: AbortSignal | undefined;
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
  const argv = driver.submit.command(scriptPath, options.extraFlags, options.logs);
  const stdin = driver.submit.stdin === 'script' ? options.script : undefined;
  const stop = stopAfterGrace(options.signal);
  for (let attempt = 1; ; attempt++) {
    const output = await options.runner.run(driver.name, argv, { stdin, timeoutMs: SUBMIT_TIMEOUT_MS, signal: stop });
    const details = { ...output, scheduler: driver.name, command: argv, attempts: attempt, expected: options.expected, said: output.exitCode === 0 ? undefined : driver.submit.said?.(output) };
    if (output.exitCode === 0) {
      const id = driver.submit.parseJobId(output.stdout, output.stderr);
      if (id) return id;
      throw new SchedulerError(`${argv[0]} succeeded but printed no job id @cm understands`, {
        ...details,
        hint: `expected a job id in its output ${JSON.stringify((output.stdout || output.stderr).slice(0, 200))}; a site wrapper around ${argv[0]} may change its output`,
      });
    }
    const said = `${output.stderr}\n${output.stdout}`;
    const transient = driver.submit.transient?.test(said) ?? false;
    const delay = options.retryDelays[attempt - 1];
    if (!transient || delay === undefined || options.signal?.aborted) {
      throw new SchedulerError(`${argv[0]} refused the job`, {
        ...details,
        hint: transient ? `the ${driver.name} controller kept failing; try again later, or allow more retries with \`submitRetryDelays\`` : driver.submit.hint?.(said),
      });
    }
    options.onRetry?.(attempt, delay, (output.stderr || output.stdout).trim().split('\n').at(-1) ?? '');
    await sleep(delay, options.signal).catch(() => undefined);
    if (options.signal?.aborted) throw new SchedulerError(`${argv[0]} was not retried: the launch was cancelled`, details);
  }
}

/** A signal that follows `signal` after {@link SUBMIT_ABORT_GRACE_MS}: a hung submit command must not outlive its launch. */
function stopAfterGrace(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  const stop = new AbortController();
  const arm = () => setTimeout(() => stop.abort(signal.reason), SUBMIT_ABORT_GRACE_MS).unref();
  if (signal.aborted) arm();
  else signal.addEventListener('abort', arm, { once: true });
  return stop.signal;
}
