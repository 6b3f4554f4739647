/**
 * HTCondor's options for @cm: the typed submit-description commands, every command name
 * condor_submit takes (so a misspelt one is refused with the closest name), the settings
 * that are not single commands (`submitLines`), and the checks that keep @cm's own lines
 * (executable, logs, queue, environment) and the secret's safety (`getenv`) intact.
 * Source: docs/man-pages/condor_submit.rst and htcondor-jdl.rst (HTCondor 25.x).
 * @module
 */
import type { FlagValue } from '@cm/core/driver';
import { z } from 'zod';

/** A size with HTCondor's units: a number (MB for memory, KiB for disk) or `"4 GB"`, `"512M"`, `"2G"`. */
const size = z.union([z.number().int().positive(), z.string().regex(/^\s*\d+(?:\.\d+)?\s*[KMGT]?B?\s*$/i, 'use a number or a size like "4 GB", "512M"')], {
  error: 'must be a number or a size like "4 GB"',
});

/**
 * The common submit-description commands, typed. Any other command of the submit language
 * works as a key too (`want_graceful_removal: true` → `want_graceful_removal = true`), and
 * `submitLines` takes whole `key = value` lines (`+ProjectName = "cm"`).
 */
export const htcondorOptionsSchema = z.object({
  /** `universe`: how the job runs. Default `vanilla` (the only one @cm's workers need). */
  universe: z.enum(['vanilla', 'docker', 'container']).optional(),
  /** `request_cpus`: CPUs for each worker. Default 1 (HTCondor's). */
  requestCpus: z.number().int().positive().optional(),
  /** `request_memory`: memory for each worker; a number is MB, or a size with units (`"4 GB"`). */
  requestMemory: size.optional(),
  /** `request_disk`: scratch disk for each worker; a number is KiB, or a size with units (`"1 GB"`). */
  requestDisk: size.optional(),
  /** `request_gpus`: GPUs for each worker. */
  requestGpus: z.number().int().min(0).optional(),
  /** `requirements`: a ClassAd expression the execute slot must match (`'OpSysAndVer == "AlmaLinux9"'`). */
  requirements: z.string().min(1).optional(),
  /** `rank`: a ClassAd expression preferring some slots over others. */
  rank: z.string().min(1).optional(),
  /** `initialdir`: the workers' working directory (on the execute node). Default: where condor_submit runs (the master's directory). */
  initialdir: z.string().min(1).optional(),
  /** `accounting_group`: the group the jobs are charged to. */
  accountingGroup: z.string().min(1).optional(),
  /** `allowed_job_duration`: seconds a worker may run before HTCondor holds it; workers learn their end from it. */
  allowedJobDuration: z.number().int().positive().optional(),
  /** `transfer_input_files`: comma-separated files sent to the execute node's scratch directory (turns file transfer on). */
  transferInputFiles: z.string().min(1).optional(),
  /** `getenv`: a matchlist of submit-time variables to copy (`"CONDA_*, LANG"`). `true` is refused: it would copy the whole environment into the job's ClassAd. */
  getenv: z.union([z.string().min(1), z.boolean()]).optional(),
  /** `priority`: order among your own jobs (higher first). */
  priority: z.number().int().optional(),
});

/** Settings of the htcondor driver: not single commands. */
export const htcondorSettingsSchema = z.object({
  /**
   * Extra lines of the submit description, each one `key = value` (`+ProjectName = "cm"`,
   * `MY.Site = "x"`, `periodic_remove = …`), written after the typed options and before `queue`.
   */
  submitLines: z.array(z.string().regex(/^\s*[+A-Za-z_][\w.+]*\s*=[^\n\r\0]*$/, 'each must be one line `key = value`')).default([]),
});

/**
 * Every submit-description command condor_submit 25.x knows (condor_submit.rst), camelCased:
 * an option key that is none of these is refused with the closest name.
 */
export const SUBMIT_COMMAND_NAMES: readonly string[] = [
  ...'accountingGroup accountingGroupUser allowStartupScript allowedExecuteDuration allowedJobDuration append appendFiles arguments args azureAdminKey azureAdminUsername azureAuthFile azureImage azureLocation azureSize batchName batchQueue batchProject batchRuntime buildNetworkDir checkpointExitCode cloudLabelNames concurrencyLimits concurrencyLimitsExpr containerImage containerServiceNames containerTargetDir coresize cronDayOfMonth cronDayOfWeek cronHour cronMinute cronMonth cronPrepTime cronWindow dagmanLogFile deferralPrepTime deferralTime deferralWindow delegateJobGsiCredentialsLifetime description dockerImage dockerNetworkType ec2AccessKeyId ec2AmiId ec2InstanceType ec2KeyPair ec2SecretAccessKey ec2SecurityGroups ec2UserData email encryptExecuteDirectory encryptInputFiles encryptOutputFiles environment env error executable fetchFiles fileRemaps getenv gceAuthFile gceImage gceMachineType gridResource hold holdKillSig initialdir initialDir input jarFiles javaVmArgs jobAdInformationAttrs jobBatchName jobLeaseDuration jobMachineAttrs jobMaxVacateTime keepClaimIdle killSig leaveInQueue loadProfile log logXml manifest manifestDir maxIdle maxMaterialize maxRetries maxTransferInputMb maxTransferOutputMb nextJobStartDelay niceUser noop noopExitCode noopExitSignal notification notifyUser onExitHold onExitHoldReason onExitHoldSubcode onExitRemove outputDestination output outputRemaps periodicHold periodicHoldReason periodicHoldSubcode periodicRelease periodicRemove periodicVacate preserveRelativeExecutable priority publicInputFiles queue rank remoteInitialdir requestCpus requestDisk requestGpus requestMemory requireGpus requirements retryUntil runAsOwner shouldTransferFiles skipFilechecks streamError streamInput streamOutput submitEvent successExitCode transferCheckpointFiles transferContainer transferExecutable transferInput transferInputFiles transferOutputFiles transferOutputRemaps transferPlugins universe useOauthServices vmChecksum vmDiskSize vmMemory vmNetworking vmNetworkingType vmNoOutputVm vmType vmVnc wantGracefulRemoval wantJobNetworking whenToTransferOutput x509userproxy'.split(
    ' ',
  ),
];

/** Commands @cm writes itself, and why giving them would break the launch. */
const RESERVED: Readonly<Record<string, string>> = {
  executable: '@cm runs its own body script as the executable',
  arguments: '@cm passes the worker its settings in the body script; use `nodeArgs` for Node.js flags',
  args: '@cm passes the worker its settings in the body script; use `nodeArgs` for Node.js flags',
  output: 'job logs go to `logDir`: set that instead',
  error: 'job logs go to `logDir`: set that instead',
  log: 'the job event log goes to `logDir`: set that instead',
  queue: 'the number of workers sets `queue N`: pass it as np',
  environment: 'use the `env` option (written into the body script, not the ClassAd)',
  env: 'use the `env` option (written into the body script, not the ClassAd)',
  hold: 'a job submitted on hold never starts, and @cm fails a held launch: leave it out',
  input: 'workers read nothing on stdin',
  batchName: 'the `jobName` option sets `batch_name`',
  jobBatchName: 'the `jobName` option sets `batch_name`',
};

/** `requestCpus` → `request_cpus`: the submit language's spelling (case-insensitive, `_` between words). */
export function submitKey(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/-/g, '_');
}

/** The key of a `key = value` submit line, as a canonical option name (`request_cpus` → `requestCpus`, `+Foo` stays). */
function lineKey(line: string): string {
  const key = line.slice(0, line.indexOf('=')).trim();
  if (/^(?:\+|MY\.)/i.test(key)) return key;
  return key.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Whether a `getenv` value copies the whole submit environment (`true`, `yes`, `1`, a bare `*`). */
function copiesEverything(value: FlagValue): boolean {
  if (value === true) return true;
  return typeof value === 'string' && value.split(/[\s,]+/).some((pattern) => /^(?:true|yes|1|\*)$/i.test(pattern));
}

/** The last check of options and submit lines before anything is rendered: what is wrong, or undefined. */
export function checkOptions(options: Readonly<Record<string, FlagValue>>, submitLines: readonly string[]): string | undefined {
  const reserved = Object.keys(options).find((key) => key in RESERVED);
  if (reserved) return `\`${reserved}\`: ${RESERVED[reserved]}`;
  if (options.getenv !== undefined && copiesEverything(options.getenv)) {
    return '`getenv`: copying the whole submit environment puts it into the job\'s ClassAd (`condor_q -l` shows it to others); give a matchlist of the variables the workers need (`"CONDA_*, LANG"`), or use `env`';
  }
  for (const line of submitLines) {
    const key = lineKey(line);
    if (key in RESERVED) return `\`submitLines\` line "${line.trim()}": \`${key}\`: ${RESERVED[key]}`;
    if (key === 'getenv' && copiesEverything(line.slice(line.indexOf('=') + 1).trim()))
      return `\`submitLines\` line "${line.trim()}": give \`getenv\` a matchlist, not everything (the ClassAd would record the whole environment)`;
  }
  return undefined;
}
