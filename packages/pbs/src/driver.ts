/**
 * PBS, declared in its three dialects, the way Parsl's PBS Pro provider is a small subclass
 * of its Torque one: one shared declaration (qsub, `#PBS`, qdel, hints), and what each
 * dialect changes — array flag and task variable, status command and parser, state letters,
 * log-file placeholders. The dialect comes from the `dialect` setting or `qstat --version`.
 * @module
 */
import type { CommandRunner, SchedulerDriver } from '@cm/core/driver';
import { UsageError } from '@cm/core';
import { type PbsDialect, checkOptions, pbsOptionFlags, walltimeOf } from './options.js';
import { HISTORY_OFF, PBS_PRO_STATES, TORQUE_SLURM_STATES, TORQUE_STATES, cancelDone, classifyEnded, dialectFromVersion, parseProJson, parseQsubJobId, parseTorqueText, taskJobId } from './status.js';

/** Refusals and what to do about them; matched against qsub's stderr and stdout. */
const HINTS: [RegExp, string][] = [
  [/Unknown queue|requested queue not found|invalid partition/i, 'check `queue` (`qstat -Q` lists the queues), or set it in the site config (section "pbs")'],
  [/violates queue and\/or server resource limits|exceeds queue resource limits|cannot satisfy queue/i, "check `walltime`, `cpus` and `memory` against the queue's limits (`qstat -Qf <queue>`)"],
  [/Unknown resource/i, 'a `-l` resource (in `l` or `qsubFlags`) is not defined on this server (`qstat -Bf` lists them)'],
  [/node\(s\) specification error/i, 'check `cpus`, `memory` and any `select=`/`nodes=` in `l` (PBS Pro refuses `nodes=…:mem=`: use `cpus` and `memory`)'],
  [/Illegal attribute or resource value|Invalid time limit/i, 'check the form of `walltime` ("HH:MM:SS"), `memory` ("4gb") and the values in `l`'],
  [/Maximum number of jobs already in queue/i, 'the queue holds as many of your jobs as it allows: wait for some to end, or `qdel` some'],
  [/Unauthorized Request|not authorized|Invalid account/i, 'you may not submit there: check `queue`, `account` and `project`'],
  [/illegal -|invalid option|Unknown option|usage:/i, 'a flag in `qsubFlags` (or a one-letter option) is not one this qsub takes: check them against `man qsub`'],
];

const hintFor = (said: string) => HINTS.find(([pattern]) => pattern.test(said))?.[1];

/** The variable a Torque job's setup line fills with its array's id. */
const ARRAY_JOB_ID_VAR = 'CM_PBS_ARRAY_JOB_ID';

/** Failures worth retrying: the server or its authentication did not answer this time (ert retries 171 and 183). */
const TRANSIENT =
  /Invalid credential|Batch protocol error|premature end of message|cannot connect to server|pbs_iff|Connection refused|No route to host|Unable to contact slurm controller|Socket timed out|temporarily unavailable|try again/i;

/** What the dialects share: qsub with the script by path, `#PBS` directives, qdel of every id at once. */
function baseDriver(dialect: PbsDialect, parts: Pick<SchedulerDriver, 'layouts' | 'status' | 'jobFlags' | 'taskJobId'> & { submit?: Partial<SchedulerDriver['submit']> }): SchedulerDriver {
  return {
    name: 'pbs',
    directivePrefix: '#PBS',
    flagStyle: 'single-dash',
    submit: {
      command: (script, extra) => ['qsub', ...extra, script],
      parseJobId: parseQsubJobId,
      transient: TRANSIENT,
      hint: hintFor,
      ...parts.submit,
    },
    layouts: parts.layouts,
    jobFlags: parts.jobFlags,
    optionFlags: (options) => pbsOptionFlags(options, dialect),
    status: { ...parts.status, classify: (status) => classifyEnded(status, parts.status.states, dialect) },
    cancel: { command: (ids) => ['qdel', ...ids], done: (output) => cancelDone(output, dialect) },
    taskJobId: parts.taskJobId,
    walltimeSeconds: walltimeOf,
    check: (options, np) => {
      if (dialect === 'pro' && np > 1 && options.l !== undefined && /(?:^|,)(?:nodes|select)=/.test(String(options.l)) && (options.cpus !== undefined || options.memory !== undefined)) {
        return '`l` has its own `select=`/`nodes=`: give `cpus` and `memory` inside it, or leave `l` out';
      }
      return checkOptions(options, dialect);
    },
  };
}

/**
 * PBS Pro's one status command: `qstat -f -F json -x -t ids`, finished jobs and their
 * `Exit_status` included. A server without job history refuses any `-x` and exits 0 listing
 * nothing (pbs.md §3): then the same without `-x` (finished jobs are simply gone, as the
 * machinery expects of a queue that forgets). `sh -c` so one poll stays one command.
 */
const PRO_STATUS_SCRIPT = [
  'e=$(mktemp) || exit 1',
  'o=$(qstat -f -F json -x -t "$@" 2>"$e"); r=$?',
  `if grep -qiE '${HISTORY_OFF.source}' "$e"; then rm -f "$e"; exec qstat -f -F json -t "$@"; fi`,
  'cat "$e" >&2; rm -f "$e"; printf \'%s\\n\' "$o"; exit $r',
].join('\n');

/**
 * PBS Professional / OpenPBS: `-J 1-N` (indices from 1; a one-element range is refused, so
 * np 1 is a plain job), `PBS_ARRAY_INDEX`, the parent id in `PBS_ARRAY_ID`, logs named with
 * `^array_index^`, status of every job and subjob in one `qstat -f -F json -x -t`.
 */
export const pbsProDriver: SchedulerDriver = baseDriver('pro', {
  layouts: {
    array: {
      indexBase: 1,
      // np 1: a plain job, since PBS Pro refuses a one-element range (`-J 1-1`: X < Y required).
      plainJob: (np) => np === 1,
      flags: ({ np }) => (np > 1 ? [['-J', `1-${np}`]] : []),
      taskIndexVars: ['PBS_ARRAY_INDEX'],
      jobIdVars: ['PBS_ARRAY_ID', 'PBS_JOBID'],
      logPattern: '^array_index^',
      logName: (_jobId, task) => (task === null ? '^array_index^' : String(task)),
    },
  },
  // -r y: arrays are always rerunnable (qsub refuses `-r n` with -J).
  jobFlags: ({ name, stdoutPath, stderrPath }) => [
    ['-N', name],
    ['-o', stdoutPath],
    ['-e', stderrPath],
  ],
  status: {
    command: (ids) => ['sh', '-c', PRO_STATUS_SCRIPT, 'sh', ...ids],
    parse: parseProJson,
    states: PBS_PRO_STATES,
  },
  taskJobId,
});

/**
 * Torque: `-t 1-N` (Torque also counts from 0 if asked; @cm asks 1..N, as Grid Engine and
 * PBS Pro count, and as the wrappers over Slurm report), `PBS_ARRAYID`, status by
 * `qstat -f -t` (text; Torque has no JSON). A subjob writes its `-o`/`-e` file with `-<index>`
 * appended.
 */
export const torqueDriver: SchedulerDriver = baseDriver('torque', {
  layouts: {
    array: {
      indexBase: 1,
      flags: ({ np }) => [['-t', `1-${np}`]],
      // PBS_ARRAYID is Torque's; SLURM_ARRAY_TASK_ID (same base) if a site's qsub turns out to be the wrappers over Slurm.
      taskIndexVars: ['PBS_ARRAYID', 'SLURM_ARRAY_TASK_ID'],
      setup: () => [
        // A Torque array task has only its own id (`12[3].host`): derive the array's (`12[].host`).
        `export ${ARRAY_JOB_ID_VAR}="$(printf '%s' "\${PBS_JOBID:-}" | sed 's/\\[[0-9]*\\]/[]/')"`,
        // Torque writes a subjob's -e file as `<path>-<index>` (after `.err`), a name @cm cannot
        // give; the task's stderr goes to the file @cm reads instead, beside the launch's other
        // files (named like its secret file). Until machinery-requests.md @cm/pbs 5.
        `[ -n "\${PBS_ARRAYID:-}" ] && [ -n "\${CM_SECRET_FILE:-}" ] && exec 2>>"\${CM_SECRET_FILE%.secret}-torque-\${PBS_ARRAYID}.err"`,
      ],
      jobIdVars: [ARRAY_JOB_ID_VAR, 'SLURM_ARRAY_JOB_ID'],
      logPattern: 'torque',
      logName: (_jobId, task) => (task === null ? 'torque' : `torque-${task}`),
    },
  },
  jobFlags: ({ name, stdoutPath, stderrPath }) => [
    ['-N', name],
    ['-o', stdoutPath],
    ['-e', stderrPath],
  ],
  status: {
    command: (ids) => ['qstat', '-f', '-t', ...ids],
    parse: (output) => parseTorqueText(output, 'torque'),
    states: TORQUE_STATES,
  },
  taskJobId,
});

const SLURM_LOG_PATTERN = '%A_%a';

/**
 * SchedMD's Torque-compatible qsub/qstat/qdel over Slurm (`slurm-wlm-torque`): bare ids
 * (`20`), no `PBS_*` variables in jobs (Slurm's own instead, array tasks counted as asked),
 * in-script `-o`/`-e` ignored (given on the command line, where sbatch expands `%A`/`%a`),
 * no `qstat -t`: an array is watched through its base id, and a single task cannot be
 * cancelled alone (`qdel 12[3]` cancels the whole array), so the array is one unit.
 */
export const torqueSlurmDriver: SchedulerDriver = baseDriver('torque-slurm', {
  submit: {
    // sbatch gets qsub's command-line -o/-e verbatim (so %A/%a expand); in-script ones are overridden.
    command: (script, extra, logs) => ['qsub', ...extra, '-o', logs.stdoutPath, '-e', logs.stderrPath, script],
    hint: (said) => {
      const sbatch = [...said.matchAll(/sbatch: error: (?:Batch job submission failed: )?(.+?)'?$/gm)].at(-1)?.[1];
      const what = hintFor(sbatch ?? said);
      return sbatch ? `sbatch (behind the Torque-compatible qsub) said "${sbatch}"${what ? `: ${what}` : ''}` : what;
    },
  },
  layouts: {
    array: {
      indexBase: 1,
      flags: ({ np }) => [['-t', `1-${np}`]],
      taskIndexVars: ['SLURM_ARRAY_TASK_ID', 'PBS_ARRAYID'],
      jobIdVars: ['SLURM_ARRAY_JOB_ID', 'PBS_JOBID'],
      logPattern: SLURM_LOG_PATTERN,
      logName: (jobId, task) => `${jobId}_${task ?? 'batch'}`,
    },
  },
  jobFlags: ({ name }) => [['-N', name]],
  status: {
    command: (ids) => ['qstat', '-f', ...ids],
    parse: (output) => parseTorqueText(output, 'torque-slurm'),
    states: TORQUE_SLURM_STATES,
  },
  taskJobId: (jobId) => jobId,
});

const DRIVERS: Readonly<Record<PbsDialect, SchedulerDriver>> = { pro: pbsProDriver, torque: torqueDriver, 'torque-slurm': torqueSlurmDriver };

/** Dialects already asked, per runner and PATH (a test may put another PBS first on PATH). */
const detected = new WeakMap<CommandRunner, Map<string, PbsDialect>>();

/**
 * Ask `qstat --version` which PBS this is (once per runner and PATH).
 * @throws UsageError when qstat is missing or its answer is none of the known ones
 */
export function detectDialect(runner: CommandRunner): PbsDialect {
  const key = runner.where ?? process.env.PATH ?? '';
  const known = detected.get(runner)?.get(key);
  if (known) return known;
  const argv = ['qstat', '--version'];
  let dialect: PbsDialect | undefined;
  let said = '';
  try {
    const output = runner.runSync('pbs', argv, { timeoutMs: 30_000 });
    dialect = dialectFromVersion(output);
    said = (output.stderr || output.stdout).trim().split('\n')[0] ?? '';
  } catch (error) {
    said = (error as Error).message;
  }
  if (!dialect) {
    throw new UsageError(
      `pbs: could not tell which PBS this is from \`${argv.join(' ')}\`${runner.where ? ` (${runner.where})` : ''}: ${said || 'it printed nothing'}; set the \`dialect\` setting to 'pro', 'torque' or 'torque-slurm' (option, site config section "pbs", or CM_PBS_DIALECT)`,
      'dialect',
    );
  }
  if (!detected.has(runner)) detected.set(runner, new Map());
  detected.get(runner)!.set(key, dialect);
  return dialect;
}

/** The driver of a dialect setting (`auto` asks qstat through the runner). */
export function pbsDriverFor(setting: string, runner: CommandRunner): SchedulerDriver {
  const dialect = setting === 'auto' ? detectDialect(runner) : (setting as PbsDialect);
  const driver = DRIVERS[dialect];
  if (!driver)
    throw new UsageError(
      `pbs: unknown dialect '${setting}'; use 'auto', ${Object.keys(DRIVERS)
        .map((d) => `'${d}'`)
        .join(', ')}`,
      'dialect',
    );
  return driver;
}

/** The dialect a driver declares (for messages and tests). */
export function dialectOf(driver: SchedulerDriver): PbsDialect | undefined {
  return (Object.keys(DRIVERS) as PbsDialect[]).find((d) => DRIVERS[d] === driver);
}
