/**
 * Drivers for simq, the simulated scheduler in this directory: the reference drivers the
 * conformance suite runs against in @cm/core's own tests, and templates for real ones —
 * each is mostly a declaration, like every driver should be. One base declaration and its
 * variants, one per shape a real scheduler has:
 *
 * - `default`: arrays from 0 and jobs of tasks (Slurm's shape);
 * - `one-based`: arrays counted from 1 (Grid Engine `-t 1-N`, LSF `name[1-N]`, PBS `-J 1-N`);
 * - `stdin`: the script submitted on stdin (`bsub < job.sh`);
 * - `submit-file`: a submit file of the scheduler's own beside the body script (HTCondor);
 * - `processes`: no queue, one placed foreground command per worker that does not end its
 *   worker when it ends (Scyld's `beomap` + `bpsh`; Grid Engine's `qrsh` without placement).
 *
 * The variant is a driver setting (`variant`), so it also shows how a driver is chosen after
 * the settings are resolved (as PBS chooses its dialect).
 * @module
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type ProcessDriver, type SchedulerDriver, JobQueueManager, type JobQueueOptions } from '../batch/index.js';

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

/** Every option simq's directives take (its "man page"). */
export const SIMQ_FLAG_NAMES: readonly string[] = ['queue', 'time', 'hold', 'flaky', 'comment'];

/** The shapes simq can take; see the module comment. */
export const SIMQ_VARIANTS = ['default', 'one-based', 'stdin', 'submit-file', 'processes'] as const;

/** Settings of simq's drivers: not flags. */
export const simulatedSettingsSchema = z.object({
  /** Which shape of scheduler to simulate (default `default`). */
  variant: z.enum(SIMQ_VARIANTS).default('default'),
});

/** Options of {@link SimulatedQueueManager}. */
export type SimulatedOptions = JobQueueOptions & z.input<typeof simulatedOptionsSchema> & z.input<typeof simulatedSettingsSchema>;

/** simq, declared. */
export const simulatedDriver: SchedulerDriver = {
  name: 'simq',
  directivePrefix: '#SIMQ',
  submit: {
    command: (script, extra) => simq('submit', ...extra, script),
    parseJobId: (stdout) => /Submitted job (\d+)/.exec(stdout)?.[1],
    transient: /controller busy/,
    hint: (said) => (/invalid queue/.test(said) ? 'check `queue`, or set it in the site config (section "simq")' : undefined),
  },
  layouts: {
    array: {
      flags: ({ np }) => [[`--array=0-${np - 1}`]],
      taskIndexVars: ['SIMQ_ARRAY_TASK_ID'],
      jobIdVars: ['SIMQ_ARRAY_JOB_ID', 'SIMQ_JOB_ID'],
      logPattern: '%A_%a',
      logName: (jobId, task) => `${jobId}_${task ?? 0}`,
    },
    tasks: {
      flags: ({ np }) => [[`--ntasks=${np}`]],
      launcher: simq('tasks'),
      taskIndexVars: ['SIMQ_PROCID'],
      jobIdVars: ['SIMQ_JOB_ID'],
      logPattern: '%j',
      logName: (jobId) => jobId,
    },
  },
  jobFlags: ({ name, stdoutPath, stderrPath }) => [[`--name=${name}`], [`--output=${stdoutPath}`], [`--error=${stderrPath}`]],
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

/** Arrays counted from 1, as Grid Engine, LSF and PBS count them. */
export const simulatedOneBasedDriver: SchedulerDriver = {
  ...simulatedDriver,
  layouts: { array: { ...simulatedDriver.layouts.array!, indexBase: 1, flags: ({ np }) => [[`--array=1-${np}`]] } },
};

/** The script goes on stdin (`simq submit -`), as LSF's `bsub < job.sh`. */
export const simulatedStdinDriver: SchedulerDriver = {
  ...simulatedDriver,
  submit: { ...simulatedDriver.submit, command: (_script, extra) => simq('submit', ...extra, '-'), stdin: 'script' },
};

/** A submit file of simq's own beside the body script, as HTCondor's submit description. */
export const simulatedSubmitFileDriver: SchedulerDriver = {
  ...simulatedDriver,
  submitFileSuffix: '.sub',
  render: ({ bodyPath, flags }) => {
    const lines = ['# simq submit file', `executable = ${bodyPath}`];
    for (const flag of flags) {
      const match = /^--([a-z-]+)(?:=(.*))?$/.exec(flag.join(' '));
      if (match) lines.push(`${match[1]} = ${match[2] ?? ''}`);
    }
    return `${lines.join('\n')}\n`;
  },
};

/** No queue: workers placed on "nodes" and started in the foreground, each with one command that does not end its worker. */
export const simulatedProcessDriver: ProcessDriver = {
  name: 'simq',
  processes: {
    per: 'worker',
    place: {
      command: (np) => simq('place', String(np)),
      parse: ({ stdout }, np) => {
        const nodes = stdout.split('\n').filter(Boolean);
        return nodes.length === np ? nodes : { error: `expected ${np} nodes, got ${nodes.length}` };
      },
    },
    command: ({ place, worker }) => simq('exec', '--orphan', place!, ...worker),
    stop: ({ place, pid }) => simq('kill', place!, String(pid)),
    remotePid: /^simq: remote pid (\d+)$/m,
    taskIndexVars: [],
    jobIdVars: [],
    hint: (said) => (/nodes are up/.test(said) ? 'ask for fewer workers, or wait until more nodes are up' : undefined),
  },
};

const VARIANT_DRIVERS: Readonly<Record<(typeof SIMQ_VARIANTS)[number], SchedulerDriver | ProcessDriver>> = {
  default: simulatedDriver,
  'one-based': simulatedOneBasedDriver,
  stdin: simulatedStdinDriver,
  'submit-file': simulatedSubmitFileDriver,
  processes: simulatedProcessDriver,
};

/**
 * Workers started through simq: a batch scheduler simulated on this machine.
 *
 * @example
 * ```ts
 * await cluster.addprocs(new SimulatedQueueManager(2, { layout: 'array' }));
 * await cluster.addprocs(new SimulatedQueueManager(2, { variant: 'one-based' }));
 * ```
 */
export class SimulatedQueueManager extends JobQueueManager {
  /** @throws UsageError for invalid options */
  constructor(np: number, options: SimulatedOptions = {}) {
    super(np, options, {
      name: 'simq',
      driver: (settings) => VARIANT_DRIVERS[(settings as z.output<typeof simulatedSettingsSchema>).variant],
      flagSchema: simulatedOptionsSchema,
      flagNames: SIMQ_FLAG_NAMES,
      settingsSchema: simulatedSettingsSchema,
      aliases: { simqFlags: 'submitFlags' },
    });
  }
}
