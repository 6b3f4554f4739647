/**
 * Grid Engine, declared: what @cm/core's batch machinery needs to know about qsub, qstat and
 * qdel. Command-line contract: submit.1, qstat.1, qdel.1 (SoGE 8.1.9; SGE 6.2, OGS and
 * Univa/Altair print the same), checked on a real Grid Engine (tooling/schedulers/README.md).
 * @module
 */
import type { CommandOutput, SchedulerDriver } from '@cm/core/driver';
import { checkSgeOptions, peFlag, type SgeSettings, sgeOptionFlags, walltimeOf } from './options.js';
import { parseErrorReason, parseQstatXml, parseSubmitId, stateTable } from './qstat.js';
import { TASKS_LAUNCHER } from './tasks-launcher.js';

/** What to tell the user about a refusal, from qsub's or qrsh's words. */
const HINTS: readonly [RegExp, string][] = [
  [/unknown queue/i, 'check `queue` (`qconf -sql` lists the queues), or set it in the site config (section "sge")'],
  [/unknown resource/i, 'check `resources` and `memory` (`qconf -sc` lists the resources; a site requesting memory as another resource sets `memoryResource`)'],
  [/parallel environment .* does not exist/i, 'check `pe` (`qconf -spl` lists the parallel environments)'],
  [/project .* (?:does not exist|not allowed)|no project|rejected.*project/i, 'check `project` (`qconf -sprjl` lists the projects)'],
  [/is not a time value|h_rt/i, "check `walltime`: `[[hours:]minutes:]seconds`, within the queue's h_rt"],
  [/no suitable queues/i, 'no queue can ever run this request: check `queue`, `pe`/`slots`, `resources`, `memory` and `walltime` against the queues (`qconf -sq <queue>`)'],
  [/could not be scheduled/i, 'no slot was free at once and the request had `-now yes`: leave `now` out (@cm asks with `-now no`, which waits in the queue)'],
  [/cannot change to directory|can't chdir/i, 'check `wd`: it must exist on the compute nodes'],
  [/account is currently not available|nologin/i, 'qrsh runs your login shell on the node, and it refuses logins: use SGEManager (qsub) instead'],
  [/jobs are allowed per user|max_u_jobs|max_jobs/i, 'the per-user job limit is reached: wait for jobs to end, or ask for fewer workers'],
  [/invalid option argument|unknown option|invalid option/i, 'an option is not a Grid Engine flag: check the option names and `qsubFlags`/`qrshFlags`'],
  [/Error reading answer list from qmaster/i, 'Grid Engine could not take the request (a value with a space where it takes none?): check the options'],
];

/** The hint for a refusal, if one fits. */
export function sgeHint(said: string): string | undefined {
  return HINTS.find(([pattern]) => pattern.test(said))?.[1];
}

/**
 * The telling line of a refusal: qsub prints `Unable to run job: <reason>` then `Exiting.`
 * (msg_qsub.h), so the reason, not the last line.
 */
export function sgeSaid({ stdout, stderr }: CommandOutput): string | undefined {
  const lines = `${stderr}\n${stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /[A-Za-z0-9]/.test(line) && line !== 'Exiting.');
  const refusal = lines.find((line) => line.startsWith('Unable to run job: '));
  return refusal ? refusal.slice('Unable to run job: '.length) : lines[0];
}

/** qmaster busy or unreachable: worth retrying. */
export const SGE_TRANSIENT =
  /unable to contact qmaster|unable to send message to qmaster|got send error|commlib error|failed receiving gdi request|qmaster is not (?:responding|available)|try again later/i;

const STATES = stateTable();
const drivers = new Map<string, SchedulerDriver>();

/**
 * The Grid Engine driver for these settings (one object per setting, so every manager with
 * the same settings shares one status poller).
 */
/**
 * `-tc K`: Grid Engine runs at most K tasks of the array at once, starting the next when one
 * ends; `addprocs` then resolves once K workers joined, and the rest join as slots free.
 */
export function sgeRunningLimit(_settings: unknown, options: Readonly<Record<string, unknown>>): number | undefined {
  const limit = Number(options.tc);
  return options.tc !== undefined && Number.isInteger(limit) && limit > 0 ? limit : undefined;
}

export function sgeDriver(settings: SgeSettings): SchedulerDriver {
  const key = JSON.stringify(settings);
  let driver = drivers.get(key);
  if (!driver) drivers.set(key, (driver = declare(settings)));
  return driver;
}

function declare(settings: SgeSettings): SchedulerDriver {
  return {
    name: 'sge',
    directivePrefix: '#$',
    flagStyle: 'single-dash',
    // Grid Engine strips one pair of ' or " quotes from a directive word and knows no escapes.
    directiveWord: (word) => (/^[\w@%+=:,./$*-]+$/.test(word) ? word : word.includes("'") ? `"${word}"` : `'${word}'`),
    submit: {
      command: (script, extra) => ['qsub', '-terse', ...extra, script],
      parseJobId: parseSubmitId,
      transient: SGE_TRANSIENT,
      hint: sgeHint,
      said: sgeSaid,
    },
    layouts: {
      // ClusterManagers.jl's shape: one array, a job per worker, each started as soon as it fits.
      array: {
        indexBase: 1,
        flags: ({ np, options }) => [['-t', `1-${np}`], ...peFlag(options, 1)],
        taskIndexVars: ['SGE_TASK_ID'],
        jobIdVars: ['JOB_ID'],
        logPattern: '$JOB_ID.$TASK_ID',
        logName: (jobId, task) => `${jobId}.${task ?? 'undefined'}`,
      },
      // One parallel job holding every worker's slots; the launcher starts one worker per slot group.
      tasks: {
        flags: ({ np, options }) => [...peFlag(options, np), ['-v', `CM_SGE_SLOTS_PER_WORKER=${String(options.slots ?? 1)}`]],
        launcher: TASKS_LAUNCHER,
        taskIndexVars: ['CM_SGE_WORKER'],
        jobIdVars: ['JOB_ID'],
        logPattern: '$JOB_ID',
        logName: (jobId) => jobId,
      },
    },
    // -S: the script is bash whatever the queue's shell (shell_start_mode posix_compliant ignores `#!`).
    jobFlags: ({ name, stdoutPath, stderrPath }) => [
      ['-N', name],
      ['-o', stdoutPath],
      ['-e', stderrPath],
      ['-S', '/bin/bash'],
    ],
    optionFlags: (options) => sgeOptionFlags(options, settings),
    status: {
      // Only the user's own jobs (qstat's default), finished ones already gone: missing twice means ended.
      command: () => ['qstat', '-xml'],
      parse: (output) => (output.exitCode === 0 ? parseQstatXml(output.stdout) : undefined),
      states: STATES,
    },
    cancel: {
      command: (ids) => ['qdel', ...ids],
      // Answers on stdout, one per id; exit 1 with `denied: job "12" does not exist` for a job
      // (or task) that already ended — nothing left to cancel. Any other answer is a failure.
      done: ({ stdout }) => {
        const answers = stdout
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean);
        return answers.length > 0 && answers.every((line) => /^denied: job "[^"]+" does not exist$|has deleted|has registered .* for deletion/.test(line));
      },
    },
    taskJobId: (jobId, task) => `${jobId}.${task}`,
    explain: { command: (jobId) => ['qstat', '-j', jobId], parse: parseErrorReason },
    walltimeSeconds: walltimeOf,
    check: (options, _np, layout) => {
      if (layout === 'tasks' && !options.pe)
        return 'the `tasks` layout is one parallel job: set `pe` to a parallel environment (`qconf -spl` lists them; control_slaves TRUE lets it span hosts), or use layout "array"';
      return checkSgeOptions(options);
    },
  };
}
