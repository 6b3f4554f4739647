/**
 * The error a scheduler command gives when it fails: which command, what the scheduler said,
 * and what to do about it.
 * @module
 */
import { LaunchError, brandError, isCmError } from '../errors.js';
import { shellJoin } from '../util/shell.js';

/** Details of a failed scheduler command. */
export interface SchedulerErrorDetails {
  /** Driver name (`slurm`, `sge`…). */
  scheduler: string;
  /** The command as it was run. */
  command: readonly string[];
  /** Its exit code; undefined when it could not be started or was killed. */
  exitCode: number | undefined;
  stdout?: string | undefined;
  stderr?: string | undefined;
  /** The scheduler's telling line, when the driver picked it (`submit.said`); else the last line of its output. */
  said?: string | undefined;
  /** What the user should do, e.g. "check `partition`, or set it in the site config". */
  hint?: string | undefined;
  /** How many times the command was tried. */
  attempts?: number | undefined;
  /** Workers the launch expected, when a launch failed. */
  expected?: number | undefined;
}

/**
 * A scheduler command failed (the submission was refused, the controller could not be reached,
 * the command is not installed). Nothing of the launch is left queued when this is thrown.
 * It is a {@link LaunchError}: `addprocs` rejects with it as it is.
 *
 * @example
 * `sbatch refused the job: "Invalid partition name specified" — check \`partition\`, or set it in the site config (exit code 1; command: sbatch --parsable /home/me/.cm/logs/cm-L1.sh)`
 */
export class SchedulerError extends LaunchError {
  readonly scheduler: string;
  /** The command line that failed, shell-quoted. */
  readonly commandLine: string;
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly hint: string | undefined;
  readonly attempts: number;

  constructor(summary: string, details: SchedulerErrorDetails, options?: { cause?: unknown }) {
    const commandLine = shellJoin(details.command);
    const said = details.said ?? schedulerSaid(details.stderr ?? '') ?? schedulerSaid(details.stdout ?? '');
    const parts = [said ? `${summary}: "${said}"` : summary];
    if (details.hint) parts.push(` — ${details.hint}`);
    const tries = details.attempts && details.attempts > 1 ? `, after ${details.attempts} attempts` : '';
    const code = details.exitCode === undefined ? 'no exit code' : `exit code ${details.exitCode}`;
    parts.push(` (${code}${tries}; command: ${commandLine})`);
    const full = (details.stderr ?? '').trim();
    if (full && full !== said) parts.push(`\n--- stderr ---\n${full}`);
    super(parts.join(''), { manager: details.scheduler, expected: details.expected }, options);
    this.scheduler = details.scheduler;
    this.commandLine = commandLine;
    this.exitCode = details.exitCode;
    this.stdout = details.stdout ?? '';
    this.stderr = details.stderr ?? '';
    this.hint = details.hint;
    this.attempts = details.attempts ?? 1;
  }
}

/**
 * The most telling line of a scheduler's error output: its last line, without the program's
 * own prefixes (`sbatch: error: Batch job submission failed: X` gives `X`).
 */
export function schedulerSaid(text: string): string | undefined {
  // Lines without a letter or digit (a lone quote closing a block) say nothing.
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /[\p{L}\p{N}]/u.test(line));
  const last = lines.at(-1);
  if (!last) return undefined;
  return last.replace(/^[\w.-]+: (?:error|fatal|warning): /i, '').replace(/^Batch job submission failed: /i, '');
}

brandError(SchedulerError, 'SchedulerError');

/** A scheduler command failed ({@link SchedulerError}), from any copy of @cm/core. */
export const isSchedulerError = (value: unknown): value is SchedulerError => isCmError(value, 'SchedulerError');
