/**
 * Rendering a job script: directives first (schedulers stop reading them at the first
 * command), then the worker settings that are not secret, the prologue, and the command that
 * starts the workers. The secret and the master's address never appear here: they reach the
 * job through the environment of the submit command.
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
  /** The program and arguments that start one worker. */
  worker: readonly string[];
  /** Extra (non-secret) environment for the workers. */
  env: Readonly<Record<string, string>>;
  prologue: readonly string[];
  /** The job's walltime in seconds, when the options set one. */
  walltimeSeconds: number | undefined;
}

/** Where a launch's log files go, in the scheduler's placeholders (for directives) or for a known job. */
export function logPaths(input: Pick<JobScriptInput, 'driver' | 'layout' | 'launchId' | 'jobName' | 'logDir'>, job?: { jobId: string; taskIndex: number | null }): { stdout: string; stderr: string } {
  const declaration = input.driver.layouts[input.layout]!;
  const name = job ? declaration.logName(job.jobId, job.taskIndex) : declaration.logPattern;
  const base = path.join(input.logDir, `${input.jobName}-${input.launchId}-${name}`);
  return { stdout: `${base}.out`, stderr: `${base}.err` };
}

/** The job script for one submission of `np` workers. */
export function renderJobScript(input: JobScriptInput): string {
  const { driver, layout, np } = input;
  const declaration = driver.layouts[layout];
  if (!declaration) throw new TypeError(`${driver.name} has no ${layout} layout`);
  const logs = logPaths(input);
  const flags = [
    ...driver.jobFlags({ name: input.jobName, stdoutPath: logs.stdout, stderrPath: logs.stderr }),
    ...declaration.flags(np),
    ...input.optionFlags,
  ];
  const exports: [string, string][] = [
    [WORKER_ENV.teeOutput, '1'],
    [WORKER_ENV.taskIndexVars, declaration.taskIndexVars.join(',')],
    [WORKER_ENV.jobIdVars, declaration.jobIdVars.join(',')],
    ...Object.entries(input.env),
  ];
  const lines = [
    driver.shebang ?? '#!/bin/bash',
    ...flags.map((flag) => `${driver.directivePrefix} ${shellJoin(flag)}`),
    '#',
    `# @cm launch ${input.launchId}: ${np} worker${np === 1 ? '' : 's'} as ${layout === 'array' ? 'a job array' : 'one job of tasks'}.`,
    '# The master passes its address and the cluster secret through the environment of the',
    '# submit command, never through this file.',
    ...exports.map(([name, value]) => `export ${name}=${shellQuote(value)}`),
  ];
  if (input.walltimeSeconds) {
    lines.push(`# The job ends ${input.walltimeSeconds} s after it starts: workers stop taking new pmap items shortly before.`);
    lines.push(`export ${WORKER_ENV.endsAt}=$(( ($(date +%s) + ${input.walltimeSeconds}) * 1000 ))`);
  }
  lines.push(...input.prologue);
  lines.push(`exec ${shellJoin([...(declaration.launcher ?? []), ...input.worker])}`);
  return `${lines.join('\n')}\n`;
}
