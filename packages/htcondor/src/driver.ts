/**
 * HTCondor, declared: what @cm/core's batch machinery needs to know about condor_submit,
 * condor_q, condor_history and condor_rm. One submit description per launch (`queue N`: one
 * cluster of N procs, ProcId 0..N-1) beside the executable body script.
 * Command-line contract: /work/shared/schedulers/htcondor.md (HTCondor 25.x sources).
 * @module
 */
import type { CommandOutput, Flag, FlagValue, JobStateKind, RawJobStatus, RenderInput, SchedulerDriver } from '@cm/core/driver';
import { checkOptions, submitKey } from './options.js';

/** Variables the submit description sets in each proc: HTCondor exports no proc or cluster number itself. */
export const PROC_VAR = 'CM_HTCONDOR_PROC';
export const CLUSTER_VAR = 'CM_HTCONDOR_CLUSTER';
/**
 * The only PATH the job gets: HTCondor passes no environment of its own (no `getenv`), so
 * commands the prologue or the workers' code run need one. `env: { PATH }` overrides it.
 */
export const JOB_PATH = '/usr/local/bin:/usr/bin:/bin';

/** JobStatus numbers and the names job-status-codes.rst gives them. */
export const JOB_STATUS: Readonly<Record<number, string>> = { 1: 'Idle', 2: 'Running', 3: 'Removed', 4: 'Completed', 5: 'Held', 6: 'TransferringOutput', 7: 'Suspended' };

/** What the hold codes @cm users meet mean, and what to do (hold-reason-codes.rst). */
const HOLD_CODES: Readonly<Record<number, string>> = {
  1: 'held by a user or administrator (condor_hold)',
  3: 'held by a periodic_hold policy',
  6: 'the execute node could not start the body script: check that logDir and Node.js are on a filesystem the execute nodes see',
  12: 'output transfer failed',
  13: 'input transfer failed: check `transferInputFiles`',
  15: 'submitted on hold',
  34: 'it used more memory than it asked for: raise `requestMemory`',
  46: 'it ran longer than `allowedJobDuration`',
};

const ATTRIBUTES = 'ClusterId,ProcId,JobStatus,HoldReason,RemoveReason,ExitCode,ExitBySignal,ExitSignal';
const HISTORY_MARK = '--- condor_history ---';
/**
 * condor_rm answers that mean "nothing of these is left to remove" (htcondor.md §4), and the
 * failures that never do (schedd unreachable, authentication, permission).
 */
const ALREADY_GONE = /not found|already marked for removal|Couldn't find\/remove all jobs|There are no jobs in the queue/;
const REAL_FAILURE = /Failed to fetch|Failed to connect|AUTHENTICATE|SECMAN|Permission denied/;

interface ProcAd {
  ClusterId?: number;
  ProcId?: number;
  JobStatus?: number;
  HoldReason?: string;
  RemoveReason?: string;
  ExitCode?: number;
  ExitBySignal?: boolean;
  ExitSignal?: number;
}

/** `condor_q -json` / `condor_history -json` output: nothing at all when nothing matches, else one JSON array. */
export function parseJsonAds(text: string): ProcAd[] | undefined {
  const trimmed = text.trim();
  if (!trimmed) return [];
  try {
    const ads: unknown = JSON.parse(trimmed);
    return Array.isArray(ads) ? (ads as ProcAd[]) : undefined;
  } catch {
    return undefined;
  }
}

function statusOf(ad: ProcAd): RawJobStatus | undefined {
  if (typeof ad.ClusterId !== 'number' || typeof ad.JobStatus !== 'number') return undefined;
  const state = JOB_STATUS[ad.JobStatus] ?? String(ad.JobStatus);
  const signal = ad.ExitBySignal && ad.ExitSignal !== undefined ? `killed by signal ${ad.ExitSignal}` : undefined;
  return {
    jobId: String(ad.ClusterId),
    taskIndex: typeof ad.ProcId === 'number' ? ad.ProcId : null,
    state,
    reason: ad.JobStatus === 5 ? ad.HoldReason : ad.JobStatus === 3 ? ad.RemoveReason : signal,
    exitCode: ad.JobStatus === 4 && !ad.ExitBySignal && ad.ExitCode !== undefined ? String(ad.ExitCode) : undefined,
  };
}

/** The queue's procs, then history's for procs no longer in the queue; undefined when the output is not what the pipeline prints. */
export function parseStatus({ stdout, exitCode }: CommandOutput): RawJobStatus[] | undefined {
  if (exitCode !== 0) return undefined;
  const at = stdout.indexOf(HISTORY_MARK);
  if (at < 0) return undefined;
  const queue = parseJsonAds(stdout.slice(0, at));
  const history = parseJsonAds(stdout.slice(at + HISTORY_MARK.length));
  if (!queue || !history) return undefined;
  const seen = new Set(queue.map((ad) => `${ad.ClusterId}.${ad.ProcId}`));
  return [...queue, ...history.filter((ad) => !seen.has(`${ad.ClusterId}.${ad.ProcId}`))].flatMap((ad) => statusOf(ad) ?? []);
}

/**
 * JobStatus 4 is "Completed" however the proc ended (job-status-codes.rst): one that exited
 * non-zero, or was killed by a signal, failed. Undefined (the state table decides) otherwise.
 */
export function classifyProc(status: RawJobStatus): JobStateKind | undefined {
  if (status.state !== JOB_STATUS[4]) return undefined;
  const killed = status.reason?.startsWith('killed by signal') === true;
  return killed || (status.exitCode !== undefined && status.exitCode !== '0') ? 'failed' : undefined;
}

/** The job id in `N job(s) submitted to cluster C.` (one line per cluster in old versions: the first). */
export function parseClusterId(stdout: string): string | undefined {
  return /\d+ job\(s\) submitted to cluster (\d+)\./.exec(stdout)?.[1];
}

/** One submit-description value: booleans as HTCondor writes them, the rest as given. */
function submitValue(value: FlagValue): string {
  return typeof value === 'boolean' ? String(value) : String(value).trim();
}

/** Typed options first in the order the schema declares them, then the rest alphabetically, as `[key, value]`. */
export function submitOptionFlags(options: Readonly<Record<string, FlagValue>>, order: readonly string[]): Flag[] {
  const keys = Object.keys(options).filter((key) => options[key] !== undefined);
  const sorted = [...order.filter((key) => keys.includes(key)), ...keys.filter((key) => !order.includes(key)).sort()];
  return sorted.map((key) => [submitKey(key), submitValue(options[key]!)]);
}

/** The submit description: @cm's lines, the user's options and submit lines, then `queue N` last. */
export function renderSubmitDescription(input: RenderInput, submitLines: readonly string[]): string {
  const { options } = input;
  const lines = [
    `# @cm launch: ${input.np} worker${input.np === 1 ? '' : 's'} as one cluster of procs; the body script beside this file starts them.`,
    '# The secret is in the 0600 file the body script names, never in this file, the environment or the ClassAd.',
    ...(options.universe === undefined ? ['universe = vanilla'] : []),
    `executable = ${input.bodyPath}`,
    ...(options.getenv === undefined ? ['getenv = false'] : []),
    `environment = "${CLUSTER_VAR}=$(Cluster) ${PROC_VAR}=$(Process) PATH=${JOB_PATH}"`,
  ];
  if (options.transferInputFiles !== undefined) {
    // The body runs from the shared filesystem as it is (no condor_exec.exe copy); only the inputs travel.
    lines.push('should_transfer_files = YES', 'when_to_transfer_output = ON_EXIT', 'transfer_executable = false');
  }
  lines.push(...input.flags.map(([key, ...value]) => `${key} = ${value.join(' ')}`));
  lines.push(...submitLines.map((line) => line.trim()));
  lines.push(`queue ${input.np}`);
  return `${lines.join('\n')}\n`;
}

/** Walltime from `allowed_job_duration` (seconds). */
function walltimeSeconds(options: Readonly<Record<string, FlagValue>>): number | undefined {
  return typeof options.allowedJobDuration === 'number' ? options.allowedJobDuration : undefined;
}

const SUBMIT_HINTS: [RegExp, string][] = [
  [/Can't access executable|No 'executable'/, 'the body script is written to `logDir`: check that it exists and is readable where condor_submit runs'],
  [/No such directory/, 'check `initialdir`: it must exist where the jobs run'],
  [/Can't open "/, 'a log file could not be created: check that `logDir` exists and is writable'],
  [/request_memory|request_disk|request_cpus/i, 'check `requestCpus`, `requestMemory` (a size like "4 GB") and `requestDisk`'],
  [/Failed to parse command file/, 'a submit line is not HTCondor syntax: check `submitLines` and option values'],
  [
    /Submit requirement|SUBMIT_REQUIREMENT|rejected/i,
    "the pool's submit requirements refused the job: check `requirements`, `accountingGroup` and the request options with your HTCondor administrators",
  ],
  [/Can't find address of .*schedd/, 'no schedd here: run on a submit host, or set `sshCommand` to reach one'],
];

/** HTCondor for @cm's batch machinery; `submitLines` (a setting) are written before `queue`. */
export function htcondorDriver(submitLines: readonly string[] = [], optionOrder: readonly string[] = []): SchedulerDriver {
  return {
    name: 'htcondor',
    directivePrefix: '#',
    submit: {
      command: (file, extra) => ['condor_submit', ...extra, file],
      parseJobId: parseClusterId,
      transient: /Failed to connect to local queue manager|Can't connect to .*schedd|Connection timed out|SECMAN:2007|CEDAR:6001/,
      hint: (said) => SUBMIT_HINTS.find(([pattern]) => pattern.test(said))?.[1],
    },
    layouts: {
      array: {
        flags: () => [],
        taskIndexVars: [PROC_VAR],
        jobIdVars: [CLUSTER_VAR],
        logPattern: '$(Cluster).$(Process)',
        logName: (jobId, task) => `${jobId}.${task ?? 0}`,
      },
    },
    jobFlags: ({ name, stdoutPath, stderrPath }) => [
      ['batch_name', name],
      ['output', stdoutPath],
      ['error', stderrPath],
      // One job event log per cluster, beside the procs' logs.
      ['log', stdoutPath.replace(/\.\$\(Process\)\.out$/, '.log')],
    ],
    optionFlags: (options) => submitOptionFlags(options, optionOrder),
    render: (input) => renderSubmitDescription(input, submitLines),
    status: {
      // The queue for every cluster at once, and (in parallel) history for procs that left it
      // (completed, removed); the exit status is condor_q's, else condor_history's.
      command: (ids) => [
        'sh',
        '-c',
        [
          'h=$(mktemp) || exit 1',
          `condor_history -json -attributes ${ATTRIBUTES} -constraint "$(printf 'ClusterId == %s || ' "$@")false" >"$h" & p=$!`,
          `condor_q "$@" -json -attributes ${ATTRIBUTES}; q=$?`,
          'wait $p; r=$?',
          `echo '${HISTORY_MARK}'; cat "$h"; rm -f "$h"`,
          '[ $q -ne 0 ] && exit $q; exit $r',
        ].join('\n'),
        'sh',
        ...ids,
      ],
      parse: parseStatus,
      classify: classifyProc,
      states: {
        Idle: 'queued',
        Running: 'running',
        TransferringOutput: 'running',
        Suspended: 'suspended',
        Removed: 'cancelled',
        Completed: 'completed',
        // A held job waits for condor_release that nobody will give: fail the launch, remove it.
        Held: 'error',
      },
    },
    cancel: {
      command: (ids) => ['condor_rm', ...ids],
      // Exit 1 for jobs already gone or being removed: nothing is left to remove.
      done: ({ stdout, stderr }) => ALREADY_GONE.test(`${stderr}\n${stdout}`) && !REAL_FAILURE.test(`${stderr}\n${stdout}`),
    },
    taskJobId: (jobId, task) => `${jobId}.${task}`,
    explain: {
      command: (jobId) => ['condor_q', jobId, '-constraint', 'JobStatus == 5', '-af', 'HoldReasonCode', 'HoldReasonSubCode'],
      parse: ({ stdout, exitCode }) => {
        const words = (stdout.split('\n')[0] ?? '').trim().split(/\s+/).filter(Boolean);
        const [code, subcode] = words.map(Number);
        if (exitCode !== 0 || code === undefined || !Number.isInteger(code)) return undefined;
        return `hold code ${code}${subcode ? `, subcode ${subcode}` : ''}${HOLD_CODES[code] ? ` (${HOLD_CODES[code]})` : ''}`;
      },
    },
    walltimeSeconds,
    check: (options) => checkOptions(options, submitLines),
  };
}
