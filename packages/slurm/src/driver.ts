/**
 * Slurm, declared: what @cm/core's batch machinery needs to know about sbatch, squeue and
 * scancel. Command-line contract: sbatch.1, squeue.1, scancel.1 (Slurm 22.05+).
 * @module
 */
import { type FlagValue, type RawJobStatus, type SchedulerDriver, shellQuote } from '@cm/core/driver';
import { z } from 'zod';

const walltime = z.union([z.string().regex(/^(?:\d+-)?\d+(?::\d+){0,2}$/, "use Slurm's forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"), z.number().int().positive()], {
  error: 'must be a Slurm time (`"01:30:00"`, `"2-00:00:00"`) or a number of minutes',
});

/**
 * The common sbatch options, typed. Any other sbatch option works as a key too: a one-letter
 * key becomes `-k value`, a longer one `--key=value` (`_` and camelCase humps become `-`), and
 * `''` gives a bare flag (`exclusive: ''` → `--exclusive`).
 */
export const slurmOptionsSchema = z.object({
  /** `--partition`: where the jobs run. */
  partition: z.string().min(1).optional(),
  /** `--account` charged for the jobs. */
  account: z.string().min(1).optional(),
  /** `--qos`. */
  qos: z.string().min(1).optional(),
  /** `--time`: walltime of each job (`"01:00:00"`, or minutes). Workers learn their end from it. */
  time: walltime.optional(),
  /** `--nodes` (`2` or `"2-4"`), for the one job of tasks. */
  nodes: z.union([z.number().int().positive(), z.string().regex(/^\d+(?:-\d+)?$/, 'use a count or a range like "2-4"')]).optional(),
  /** `--ntasks-per-node`, for the one job of tasks. */
  ntasksPerNode: z.number().int().positive().optional(),
  /** `--cpus-per-task`: CPUs for each worker. */
  cpusPerTask: z.number().int().positive().optional(),
  /** `--mem` per node (`"4G"`, or MB). */
  mem: z.union([z.string().regex(/^\d+[KMGT]?$/i, 'use a size like "4G" or "500M"'), z.number().int().positive()]).optional(),
  /** `--gres` (`"gpu:1"`). */
  gres: z.string().min(1).optional(),
  /** `--constraint` (node features). */
  constraint: z.string().min(1).optional(),
});

/**
 * Every option sbatch 22.05 takes (sbatch.1), camelCased, one-letter forms as they are:
 * an option key that is none of these is refused with the closest name.
 */
export const SBATCH_OPTION_NAMES: readonly string[] = [
  ...'account acctgFreq array batch bb bbf begin chdir clusterConstraint clusters comment constraint container contiguous coreSpec coresPerSocket cpuFreq cpusPerGpu cpusPerTask deadline delayBoot dependency distribution error exclude exclusive export exportFile extraNodeInfo getUserEnv gid gpuBind gpuFreq gpus gpusPerNode gpusPerSocket gpusPerTask gres gresFlags hint hold ignorePbs input jobName killOnInvalidDep licenses mailType mailUser mcsLabel mem memBind memPerCpu memPerGpu mincpus network nice noKill noRequeue nodefile nodelist nodes ntasks ntasksPerCore ntasksPerGpu ntasksPerNode ntasksPerSocket openMode output overcommit oversubscribe parsable partition power priority profile propagate qos quiet reboot requeue reservation signal socketsPerNode spreadJob switches testOnly threadSpec threadsPerCore time timeMin tmp uid useMinNodes verbose wait waitAllNodes wckey wrap'.split(
    ' ',
  ),
  ...'A a b B C c D d e F G H i J k L M m N n O o p Q q S s t v W w x'.split(' '),
];

/** sbatch's one-letter options, so `p: 'debug'` and a site default `partition` meet under one key. */
export const SLURM_ALIASES: Readonly<Record<string, string>> = {
  sbatchFlags: 'submitFlags',
  p: 'partition',
  A: 'account',
  q: 'qos',
  t: 'time',
  N: 'nodes',
  c: 'cpusPerTask',
  C: 'constraint',
  J: 'jobName',
};

/** Options @cm sets itself: giving them would break the launch. */
const RESERVED: Readonly<Record<string, string>> = {
  ntasks: 'the number of workers sets --ntasks: pass it as np',
  n: 'the number of workers sets --ntasks: pass it as np',
  array: 'the number of workers sets --array: pass it as np with layout "array"',
  a: 'the number of workers sets --array: pass it as np with layout "array"',
  output: 'job logs go to `logDir`: set that instead',
  o: 'job logs go to `logDir`: set that instead',
  error: 'job logs go to `logDir`: set that instead',
  e: 'job logs go to `logDir`: set that instead',
  parsable: '@cm passes --parsable itself',
  wrap: '@cm writes the job script itself',
};

const HINTS: [RegExp, string][] = [
  [/invalid partition/i, 'check `partition`, or set it in the site config'],
  [/no partition specified/i, 'set `partition`, or set it in the site config'],
  [/invalid account/i, 'check `account` (and that it may use this partition), or set it in the site config'],
  [/invalid qos/i, 'check `qos`, or set it in the site config'],
  [/time limit/i, 'check `time` against the partition\'s limit (`sinfo -o "%P %l"`)'],
  [/memory/i, 'check `mem`: no node offers that much'],
  [/node configuration is not available/i, 'no node offers what was asked: check `nodes`, `ntasksPerNode`, `cpusPerTask`, `mem`, `gres` and `constraint`'],
  [/unrecognized option|invalid option|unknown option/i, 'an option is not an sbatch flag: check the option names'],
];

/** Parse a walltime: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` (Slurm's forms) or a number of minutes. Seconds, or undefined. */
export function parseWalltime(value: FlagValue | undefined): number | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value * 60) : undefined;
  const match = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(value.trim());
  if (!match) return undefined;
  const [, days, ...parts] = match;
  const n = parts.filter((part) => part !== undefined).map(Number);
  // With days: D-HH[:MM[:SS]]; without: MM, MM:SS or HH:MM:SS.
  const [h, m, s] = days !== undefined ? [n[0] ?? 0, n[1] ?? 0, n[2] ?? 0] : n.length === 3 ? n : [0, n[0] ?? 0, n[1] ?? 0];
  const seconds = Number(days ?? 0) * 86_400 + h! * 3600 + m! * 60 + s!;
  return seconds > 0 ? seconds : undefined;
}

/** `1234_[3-5,7]` → 3, 4, 5, 7. */
function expandTasks(spec: string): number[] {
  return spec.split(',').flatMap((part) => {
    const [from, to] = part.replace(/%\d+$/, '').split('-').map(Number);
    return to === undefined ? [from!] : Array.from({ length: to - from! + 1 }, (_, i) => from! + i);
  });
}

function parseSqueue(stdout: string): RawJobStatus[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .flatMap((line): RawJobStatus[] => {
      const [id = '', state = '', reason = ''] = line.trim().split('|');
      const match = /^(\d+)(?:_(\d+|\[[^\]]+\]))?/.exec(id);
      if (!match) return [];
      const status = { jobId: match[1]!, state, reason: reason && reason !== 'None' ? reason : undefined };
      const task = match[2];
      if (task === undefined) return [{ ...status, taskIndex: null }];
      return task.startsWith('[') ? expandTasks(task.slice(1, -1)).map((taskIndex) => ({ ...status, taskIndex })) : [{ ...status, taskIndex: Number(task) }];
    });
}

/** Slurm for @cm's batch machinery. */
export const slurmDriver: SchedulerDriver = {
  name: 'slurm',
  directivePrefix: '#SBATCH',
  // sbatch reads `\` as an escape even inside quotes: double it so a backslash arrives intact.
  directiveWord: (word) => shellQuote(word).replaceAll('\\', '\\\\'),
  submit: {
    command: (script, extra) => ['sbatch', '--parsable', ...extra, script],
    // `1234`, or `1234;cluster` with --clusters.
    parseJobId: (stdout) => /^(\d+)(?:;\S+)?\s*$/m.exec(stdout.trim())?.[1],
    transient: /temporarily unable|unable to contact slurm controller|socket timed out|resource temporarily unavailable|try again/i,
    hint: (said) => HINTS.find(([pattern]) => pattern.test(said))?.[1],
  },
  layouts: {
    // ClusterManagers.jl's shape: one job of np tasks, the workers started by srun.
    tasks: {
      flags: ({ np }) => [[`--ntasks=${np}`]],
      launcher: ['srun'],
      taskIndexVars: ['SLURM_PROCID'],
      jobIdVars: ['SLURM_JOB_ID'],
      logPattern: '%j',
      logName: (jobId) => jobId,
    },
    // One job array: each worker is its own job and starts as soon as it fits.
    array: {
      flags: ({ np }) => [[`--array=0-${np - 1}`]],
      taskIndexVars: ['SLURM_ARRAY_TASK_ID'],
      jobIdVars: ['SLURM_ARRAY_JOB_ID', 'SLURM_JOB_ID'],
      logPattern: '%A_%a',
      logName: (jobId, task) => `${jobId}_${task ?? 0}`,
    },
  },
  jobFlags: ({ name, stdoutPath, stderrPath }) => [[`--job-name=${name}`], [`--output=${stdoutPath}`], [`--error=${stderrPath}`]],
  status: {
    // --states=all keeps jobs that ended within MinJobAge (300 s by default) in the answer.
    command: (ids) => ['squeue', '--noheader', '--array', '--states=all', '--format=%i|%T|%r', `--jobs=${ids.join(',')}`],
    parse: ({ stdout, stderr, exitCode }) => {
      if (exitCode === 0) return parseSqueue(stdout);
      // A single id slurmctld no longer knows: the job ended long ago.
      return /invalid job id specified/i.test(stderr) ? [] : undefined;
    },
    states: {
      PENDING: 'queued',
      REQUEUED: 'queued',
      REQUEUE_FED: 'queued',
      SPECIAL_EXIT: 'queued',
      REQUEUE_HOLD: 'held',
      RESV_DEL_HOLD: 'held',
      CONFIGURING: 'starting',
      RUNNING: 'running',
      COMPLETING: 'running',
      RESIZING: 'running',
      SIGNALING: 'running',
      STAGE_OUT: 'running',
      SUSPENDED: 'suspended',
      STOPPED: 'suspended',
      COMPLETED: 'completed',
      FAILED: 'failed',
      CANCELLED: 'cancelled',
      TIMEOUT: 'timeout',
      OUT_OF_MEMORY: 'out-of-memory',
      NODE_FAIL: 'node-failure',
      PREEMPTED: 'preempted',
      BOOT_FAIL: 'boot-failure',
      DEADLINE: 'deadline',
      REVOKED: 'ended',
    },
  },
  // Silent, exit 0, for jobs that already ended or are unknown.
  cancel: { command: (ids) => ['scancel', ...ids] },
  taskJobId: (jobId, task) => `${jobId}_${task}`,
  walltimeSeconds: (options) => parseWalltime(options.time),
  check: (options, _np, layout) => {
    const reserved = Object.keys(options).find((key) => key in RESERVED);
    if (reserved) return `\`${reserved}\`: ${RESERVED[reserved]}`;
    if (layout === 'array') {
      const perTask = ['nodes', 'ntasksPerNode'].find((key) => key in options);
      if (perTask) return `\`${perTask}\` shapes one job of tasks; with layout "array" every worker is its own job (drop it, or use layout "tasks")`;
    }
    return undefined;
  },
  // SlurmClusterManager.jl's mode: inside salloc/sbatch, start one worker per task with srun.
  allocation: {
    detect: (env) => {
      if (!env.SLURM_JOB_ID) return undefined;
      const tasks = Number(env.SLURM_NTASKS ?? env.SLURM_NPROCS ?? 1);
      return { jobId: env.SLURM_JOB_ID, tasks: Number.isInteger(tasks) && tasks > 0 ? tasks : 1 };
    },
    per: 'launch',
    command: ({ np, flags, extraFlags, worker }) => ['srun', `--ntasks=${np}`, ...flags.flat(), ...extraFlags, ...worker],
    taskIndexVars: ['SLURM_PROCID'],
    jobIdVars: ['SLURM_JOB_ID'],
  },
};
