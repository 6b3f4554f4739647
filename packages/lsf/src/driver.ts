/**
 * IBM Spectrum LSF (and OpenLava), declared: what @cm/core's batch machinery needs to know
 * about bsub, bjobs and bkill. One `bsub` job array per `addprocs` (`-J "cm[1-N]%K"`), the
 * script on stdin so its `#BSUB` lines count, status from `bjobs -o … -json`, cancel with
 * `bkill`. Command-line contract: /work/shared/schedulers/lsf.md (OpenLava sources, IBM LSF
 * 10.1 docs, ert's recorded outputs).
 * @module
 */
import type { Flag, FlagValue, SchedulerDriver } from '@cm/core/driver';
import { z } from 'zod';
import { LSF_STATES, bjobsCommand, classifyLsfStatus, nothingLeftToKill, parseBjobs } from './bjobs.js';
import { RESERVED_OPTIONS, bsubFlag, directiveWord } from './bsub.js';
import { MEMORY_PATTERN, MEMORY_UNITS, type MemoryUnit, RUN_LIMIT_PATTERN, memoryIn, runLimitSeconds, withMemoryReservation } from './limits.js';

/**
 * The common bsub options, typed. Any other bsub option works as a key too (`x: ''` → `-x`,
 * `app: 'fluent'` → `-app fluent`, `alloc_flags: 'smt4'` → `-alloc_flags smt4`).
 */
export const lsfOptionsSchema = z.object({
  /** `-q`: the queue the jobs go to (`bqueues` lists them). Default: the cluster's default queue. */
  queue: z.string().min(1).optional(),
  /**
   * `-W`: run limit of each worker's job, in minutes (`90`) or `"hours:minutes"` (`"1:30"`).
   * LSF kills the job when it passes (TERM_RUNLIMIT); workers learn their end from it.
   */
  walltime: z.union([z.number().int().positive(), z.string().regex(RUN_LIMIT_PATTERN, 'use LSF\'s run limit forms: minutes ("90") or "hours:minutes" ("1:30")')]).optional(),
  /**
   * `-M` and `-R "rusage[mem=…]"`: memory of each worker's job, limited and reserved. A size
   * with a unit (`"4GB"`, `"512M"`), or a number in the cluster's unit (setting `memoryUnit`).
   */
  memory: z.union([z.number().positive(), z.string().regex(MEMORY_PATTERN, 'use a size like "4GB" or "512MB", or a number in the cluster\'s unit')]).optional(),
  /** `-n`: job slots (cores) for each worker. Default 1. */
  slots: z.number().int().positive().optional(),
  /** `-P`: the project the jobs are charged to. */
  project: z.string().min(1).optional(),
  /** `-R`: resource requirement string (`"select[mem>8000] span[hosts=1]"`). */
  resources: z.string().min(1).optional(),
});

/** Settings of the LSF driver: not bsub flags, read from site defaults like options. */
export const lsfSettingsSchema = z.object({
  /**
   * At most this many workers' jobs run at once: the array's slot limit (`-J "cm[1-N]%K"`).
   * ClusterManagers.jl's `throttle`. Below `np`, `addprocs` resolves once K workers joined;
   * LSF starts the others as running ones end (a worker removed, a run limit reached), and they
   * join the same launch. Default: no limit.
   */
  throttle: z.number().int().positive().optional(),
  /**
   * The unit LSF counts memory limits in: `LSF_UNIT_FOR_LIMITS` in the cluster's lsf.conf.
   * Default: read from `$LSF_ENVDIR/lsf.conf` (or `/etc/lsf.conf`) when the commands run on
   * this machine; else LSF's own default (KB for `-M`, MB for `rusage[mem=]`).
   */
  memoryUnit: z.enum(MEMORY_UNITS).optional(),
});

/** The driver's settings after validation. */
export type LsfSettings = z.output<typeof lsfSettingsSchema>;

/** What to tell the user about a refused submission, by what bsub said. */
const HINTS: [RegExp, string][] = [
  [/no such queue/i, 'check `queue` (`bqueues` lists the queues), or set it in the site config'],
  [/too many processors/i, 'ask for fewer `slots` per worker'],
  [/resource requirement|select section|rusage section|duplicate section/i, 'check `resources` (and `memory`, which adds `rusage[mem=…]` to it)'],
  [/runlimit|run limit/i, "check `walltime` against the queue's RUNLIMIT (`bqueues -l`)"],
  [/memlimit|memory/i, 'check `memory` and the `memoryUnit` setting (LSF_UNIT_FOR_LIMITS)'],
  [/project/i, 'check `project`, or set it in the site config'],
  [/esub/i, "the site's esub refused the job: its message says which option it wants changed"],
  [/array index|job name/i, "ask for fewer workers (the site's MAX_JOB_ARRAY_SIZE is the limit), or check `jobName`"],
  [/illegal option|usage: bsub/i, 'an option is not a bsub flag of this LSF version: check the option names and `bsubFlags`'],
];

/** The `-M` / `-R` pair for a memory request, in the cluster's unit (LSF's defaults when it is not known). */
function memoryFlags(options: Readonly<Record<string, FlagValue>>, unit: MemoryUnit | undefined): { limit: number; resources: string } | undefined {
  if (options.memory === undefined) return undefined;
  const limit = memoryIn(options.memory, unit ?? 'KB');
  const reserve = memoryIn(options.memory, unit ?? 'MB');
  if (limit === undefined || reserve === undefined) return undefined;
  const resources = typeof options.resources === 'string' ? options.resources : undefined;
  return { limit, resources: withMemoryReservation(resources, reserve) };
}

/** The typed options, rendered first in this order. */
const TYPED: readonly string[] = Object.keys(lsfOptionsSchema.shape);

/** LSF for @cm's batch machinery, with these settings (a throttle, the cluster's memory unit). */
export function createLsfDriver(settings: LsfSettings = {}): SchedulerDriver {
  const { throttle, memoryUnit } = settings;
  return {
    name: 'lsf',
    directivePrefix: '#BSUB',
    directiveWord,
    flagStyle: 'single-dash',
    submit: {
      // `bsub < job.sh`: only a script on stdin has its #BSUB lines read on every LSF
      // (`bsub job.sh` needs LSB_BSUB_PARSE_SCRIPT=Y).
      command: (_script, extra) => ['bsub', ...extra],
      stdin: 'script',
      // Sites print other lines first ("Cannot connect to LSF. Please wait ...", esub chatter);
      // OpenLava prints the line on stderr when BSUB_STDERR is set (lsf.md §1).
      parseJobId: (stdout, stderr = '') => /Job <(\d+)> is submitted/.exec(`${stdout}\n${stderr}`)?.[1],
      transient: /daemon not responding|cannot connect to LSF|communication timeout|LSF is down|request from non-LSF host rejected|failed in an LSF library call/i,
      hint: (said) => HINTS.find(([pattern]) => pattern.test(said))?.[1],
    },
    layouts: {
      array: {
        indexBase: 1,
        // The array is part of the job name: one -J carries name, indices and slot limit.
        flags: ({ np, jobName }) => [['-J', `${jobName}[1-${np}]${throttle ? `%${throttle}` : ''}`]],
        taskIndexVars: ['LSB_JOBINDEX'],
        jobIdVars: ['LSB_JOBID'],
        logPattern: '%J_%I',
        logName: (jobId, task) => `${jobId}_${task ?? 0}`,
      },
    },
    // The name is in the array's -J (the only layout), so only the logs are named here.
    jobFlags: ({ name, stdoutPath, stderrPath, layout }) => [...(layout === 'array' ? [] : [['-J', name]]), ['-o', stdoutPath], ['-e', stderrPath]],
    optionFlags: (options) => {
      const memory = memoryFlags(options, memoryUnit);
      const flags: Flag[] = [];
      const add = (letter: string, value: FlagValue | undefined) => {
        const flag = value === undefined ? undefined : bsubFlag(letter, value);
        if (flag) flags.push(flag);
      };
      add('q', options.queue);
      add('W', options.walltime);
      if (memory) flags.push(['-M', String(memory.limit)]);
      add('n', options.slots);
      add('P', options.project);
      add('R', memory ? memory.resources : options.resources);
      const rest = Object.keys(options)
        .filter((key) => !TYPED.includes(key))
        .sort();
      for (const key of rest) add(key, options[key]);
      return flags;
    },
    status: { command: bjobsCommand, parse: parseBjobs, states: LSF_STATES, classify: classifyLsfStatus },
    cancel: { command: (ids) => ['bkill', ...ids], done: nothingLeftToKill },
    taskJobId: (jobId, task) => `${jobId}[${task}]`,
    walltimeSeconds: (options) => runLimitSeconds(options.walltime),
    check: (options) => {
      const reserved = Object.keys(options).find((key) => key in RESERVED_OPTIONS);
      return reserved ? `\`${reserved}\`: ${RESERVED_OPTIONS[reserved]}` : undefined;
    },
  };
}

/** LSF with no throttle and LSF's default memory units (for tests and status checks). */
export const lsfDriver: SchedulerDriver = createLsfDriver();
