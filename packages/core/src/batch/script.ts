/**
 * Rendering what is submitted: the body script (worker settings, prologue, the command that
 * starts the workers) and, in front of it, the directives — or, for schedulers with a format
 * of their own (HTCondor's submit description), the driver's `render` beside the body.
 *
 * The secret never appears in either: the script names a 0600 file holding it
 * (`CM_SECRET_FILE`), written beside the logs and removed when the launch ends. Nothing
 * secret is in the submit command's environment either, so schedulers that record exported
 * environments (`qstat -j`, PBS `Variable_List`, HTCondor ClassAds) record nothing secret.
 * @module
 */
import path from 'node:path';
import { WORKER_ENV } from '../worker/env.js';
import { shellJoin, shellQuote } from '../util/shell.js';
import type { Flag, JobLayout, SchedulerDriver } from './driver.js';

export interface JobScriptInput {
  driver: SchedulerDriver;
  layout: JobLayout;
  np: number;
  launchId: string;
  jobName: string;
  logDir: string;
  /** The driver's rendering of the user's scheduler options. */
  optionFlags: readonly Flag[];
  /** The user's scheduler options (for layouts whose flags depend on them). */
  options?: Readonly<Record<string, string | number | boolean>>;
  /** The program and arguments that start one worker. */
  worker: readonly string[];
  /** Extra (non-secret) environment for the workers. */
  env: Readonly<Record<string, string>>;
  /** The workers' connection settings without the secret (master address, launch id, `CM_SECRET_FILE`). */
  connection?: Readonly<Record<string, string>>;
  prologue: readonly string[];
  /** The job's walltime in seconds, when the options set one. */
  walltimeSeconds: number | undefined;
}

/** What one submission writes: the file handed to the submit command, and the body it runs when that is a separate file. */
export interface RenderedJob {
  /** The submitted file's text: the job script, or the driver's own submit file. */
  submitFile: string;
  /** The body script, when the driver's format keeps it apart (it is then written executable at `bodyPath`). */
  body?: string | undefined;
}

/** The files of one launch, beside its logs. */
export function launchFiles(input: Pick<JobScriptInput, 'launchId' | 'jobName' | 'logDir'> & { driver?: SchedulerDriver }): { submit: string; body: string; secret: string } {
  const base = path.join(input.logDir, `${input.jobName}-${input.launchId}`);
  return { submit: `${base}${input.driver?.submitFileSuffix ?? '.sh'}`, body: `${base}.body.sh`, secret: `${base}.secret` };
}

/** Where a launch's log files go, in the scheduler's placeholders (for directives) or for a known job. */
export function logPaths(input: Pick<JobScriptInput, 'driver' | 'layout' | 'launchId' | 'jobName' | 'logDir'>, job?: { jobId: string; taskIndex: number | null }): { stdout: string; stderr: string } {
  const declaration = input.driver.layouts[input.layout]!;
  const at = (name: string) => path.join(input.logDir, `${input.jobName}-${input.launchId}-${name}`);
  const pattern = at(declaration.logPattern);
  if (!job) return { stdout: `${pattern}.out`, stderr: `${pattern}.err` };
  if (declaration.logFile) {
    return { stdout: declaration.logFile(`${pattern}.out`, job.jobId, job.taskIndex), stderr: declaration.logFile(`${pattern}.err`, job.jobId, job.taskIndex) };
  }
  const base = at(declaration.logName(job.jobId, job.taskIndex));
  return { stdout: `${base}.out`, stderr: `${base}.err` };
}

/** Every flag of a submission: the job's name and logs, the layout's, then the user's options. */
function submissionFlags(input: JobScriptInput): Flag[] {
  const { driver, layout, np } = input;
  const declaration = driver.layouts[layout];
  if (!declaration) throw new TypeError(`${driver.name} has no ${layout} layout`);
  const logs = logPaths(input);
  return [
    ...driver.jobFlags({ name: input.jobName, stdoutPath: logs.stdout, stderrPath: logs.stderr, layout }),
    ...declaration.flags({ np, jobName: input.jobName, options: input.options ?? {} }),
    ...input.optionFlags,
  ];
}

/** The body: worker settings, walltime end, prologue, and the command that starts the workers. No directives, no secret. */
export function renderBody(input: JobScriptInput): string[] {
  const declaration = input.driver.layouts[input.layout]!;
  const np = input.np;
  const exports: [string, string][] = [
    ...Object.entries(input.connection ?? {}),
    [WORKER_ENV.teeOutput, '1'],
    [WORKER_ENV.taskIndexVars, declaration.taskIndexVars.join(',')],
    ...(declaration.indexBase ? [[WORKER_ENV.taskIndexBase, String(declaration.indexBase)] as [string, string]] : []),
    [WORKER_ENV.jobIdVars, declaration.jobIdVars.join(',')],
    ...Object.entries(input.env),
  ];
  const plain = input.layout === 'array' && declaration.plainJob?.(np) === true;
  if (plain) exports.push([WORKER_ENV.taskIndex, '0']);
  const shape = plain ? 'one job' : input.layout === 'array' ? 'a job array' : 'one job of tasks';
  const lines = [
    `# @cm launch ${input.launchId}: ${np} worker${np === 1 ? '' : 's'} as ${shape}.`,
    `# The workers dial the master; the cluster secret is in the 0600 file named by ${WORKER_ENV.secretFile}, never here.`,
    ...exports.map(([name, value]) => `export ${name}=${shellQuote(value)}`),
  ];
  if (input.walltimeSeconds) {
    lines.push(`# The job ends ${input.walltimeSeconds} s after it starts: workers stop taking new pmap items shortly before.`);
    lines.push(`export ${WORKER_ENV.endsAt}=$(( ($(date +%s) + ${input.walltimeSeconds}) * 1000 ))`);
  }
  lines.push(...(declaration.setup?.({ np, jobName: input.jobName, options: input.options ?? {} }) ?? []));
  lines.push(...input.prologue);
  lines.push(`exec ${shellJoin([...(declaration.launcher ?? []), ...input.worker])}`);
  return lines;
}

/** The job script for one submission of `np` workers: shebang, directives, then the body. */
export function renderJobScript(input: JobScriptInput): string {
  const { driver } = input;
  const word = (text: string) => (driver.directiveWord ? driver.directiveWord(text) : shellQuote(text));
  const lines = [driver.shebang ?? '#!/bin/bash', ...submissionFlags(input).map((flag) => `${driver.directivePrefix} ${flag.map(word).join(' ')}`), '#', ...renderBody(input)];
  return `${lines.join('\n')}\n`;
}

/** What one submission writes, in the driver's format (its `render`) or as a job script with directives. */
export function renderJob(input: JobScriptInput): RenderedJob {
  const { driver } = input;
  if (!driver.render) return { submitFile: renderJobScript(input) };
  const body = `${[driver.shebang ?? '#!/bin/bash', ...renderBody(input)].join('\n')}\n`;
  const logs = logPaths(input);
  const submitFile = driver.render({
    body,
    bodyPath: launchFiles(input).body,
    flags: submissionFlags(input),
    np: input.np,
    jobName: input.jobName,
    layout: input.layout,
    stdoutPath: logs.stdout,
    stderrPath: logs.stderr,
    options: input.options ?? {},
  });
  return { submitFile, body };
}
