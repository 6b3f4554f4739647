/**
 * A driver for simq, the simulated scheduler in this directory: the reference driver that the
 * conformance suite runs against in @cm/core's own tests, and a template for real drivers —
 * it is mostly a declaration, like every driver should be.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type SchedulerDriver, optionFlags, JobQueueManager, type JobQueueOptions } from '../batch/index.js';

/** Path of the simq command-line program (built JavaScript). */
export function simqPath(): string {
  return fileURLToPath(new URL('../../dist/testing/simq.js', import.meta.url));
}

const simq = (...args: string[]) => [process.execPath, simqPath(), ...args];

/** simq's options: each becomes a `#SIMQ --key=value` directive. */
export const simulatedOptionsSchema = z.object({
  /** Queue to submit to (simq knows `$SIMQ_QUEUES`, default `main,short`). */
  queue: z.string().min(1).optional(),
  /** Walltime in seconds; the job is killed (TIMEOUT) when it passes. */
  time: z.number().int().positive().optional(),
  /** Keep the job held (pending) until it is cancelled. */
  hold: z.union([z.literal(''), z.boolean()]).optional(),
  /** Fail the first N submissions of the script transiently. */
  flaky: z.number().int().min(0).optional(),
});

/** Options of {@link SimulatedQueueManager}. */
export type SimulatedOptions = JobQueueOptions & z.input<typeof simulatedOptionsSchema>;

/** simq, declared. */
export const simulatedDriver: SchedulerDriver = {
  name: 'simq',
  directivePrefix: '#SIMQ',
  submit: {
    command: (script) => simq('submit', script),
    parseJobId: (stdout) => /Submitted job (\d+)/.exec(stdout)?.[1],
    transient: /controller busy/,
    hint: (stderr) => (/invalid queue/.test(stderr) ? 'check `queue`, or set it in the site config (section "simq")' : undefined),
  },
  layouts: {
    array: {
      flags: (np) => [[`--array=0-${np - 1}`]],
      taskIndexVars: ['SIMQ_ARRAY_TASK_ID'],
      jobIdVars: ['SIMQ_ARRAY_JOB_ID', 'SIMQ_JOB_ID'],
      logPattern: '%A_%a',
      logName: (jobId, task) => `${jobId}_${task ?? 0}`,
    },
    tasks: {
      flags: (np) => [[`--ntasks=${np}`]],
      launcher: simq('tasks'),
      taskIndexVars: ['SIMQ_PROCID'],
      jobIdVars: ['SIMQ_JOB_ID'],
      logPattern: '%j',
      logName: (jobId) => jobId,
    },
  },
  jobFlags: ({ name, stdoutPath, stderrPath }) => [[`--name=${name}`], [`--output=${stdoutPath}`], [`--error=${stderrPath}`]],
  optionFlags: (options) => optionFlags(options, Object.keys(simulatedOptionsSchema.shape)),
  status: {
    command: (ids) => simq('status', ...ids),
    parse: ({ stdout, exitCode }) => {
      if (exitCode !== 0) return undefined;
      return stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [id = '', state = '', reason = '-', exit = '-'] = line.split(' ');
          const [jobId = '', task] = id.split('_');
          return { jobId, taskIndex: task === undefined ? null : Number(task), state, reason: reason === '-' ? undefined : reason, exitCode: exit === '-' ? undefined : exit };
        });
    },
    states: { PENDING: 'queued', HELD: 'held', RUNNING: 'running', COMPLETED: 'completed', FAILED: 'failed', CANCELLED: 'cancelled', TIMEOUT: 'timeout' },
  },
  cancel: { command: (ids) => simq('cancel', ...ids) },
  taskJobId: (jobId, task) => `${jobId}_${task}`,
  walltimeSeconds: (options) => (typeof options.time === 'number' ? options.time : undefined),
};

/**
 * Workers started through simq: a batch scheduler simulated on this machine.
 *
 * @example
 * ```ts
 * await cluster.addprocs(new SimulatedQueueManager(2, { layout: 'array' }));
 * ```
 */
export class SimulatedQueueManager extends JobQueueManager {
  /** @throws UsageError for invalid options */
  constructor(np: number, options: SimulatedOptions = {}) {
    super(np, options, { driver: simulatedDriver, flagSchema: simulatedOptionsSchema });
  }
}
