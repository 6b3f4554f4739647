/**
 * The environment variables that tell a `cm-worker` where its master is and who it is.
 * The master (through a manager) sets them; the worker reads them. Documented in
 * docs/protocol.md, so a worker written in another language reads the same names.
 * @module
 */
export const WORKER_ENV = {
  /** Host name or address of the master's listening socket. */
  masterHost: 'CM_MASTER_HOST',
  /** Port of the master's listening socket. */
  masterPort: 'CM_MASTER_PORT',
  /** The cluster secret, base64url. Removed from the worker's environment once read. */
  secret: 'CM_SECRET',
  /** Alternative to CM_SECRET: path of a file (mode 0600) holding the secret. */
  secretFile: 'CM_SECRET_FILE',
  /** Which `addprocs` call launched this worker. */
  launchId: 'CM_LAUNCH_ID',
  /** The worker's task index, when the launcher knows it directly. */
  taskIndex: 'CM_TASK_INDEX',
  /** Comma-separated names of variables that may hold the task index (first numeric one wins), e.g. the scheduler's array index. */
  taskIndexVars: 'CM_TASK_INDEX_VARS',
  /** The first index the variables named by CM_TASK_INDEX_VARS count from (`1` for Grid Engine, LSF and PBS arrays); subtracted, so workers are numbered from 0. */
  taskIndexBase: 'CM_TASK_INDEX_BASE',
  /** Comma-separated names of variables that may hold the scheduler's job id. */
  jobIdVars: 'CM_JOB_ID_VARS',
  /** Unix time in ms at which the worker's job must end (walltime), when known. */
  endsAt: 'CM_ENDS_AT',
  /** How long to keep trying to reach the master, in ms. */
  connectTimeoutMs: 'CM_CONNECT_TIMEOUT_MS',
  /** "1": connect with TLS-PSK (the master's `encrypt` option). */
  tls: 'CM_TLS',
  /** Also write forwarded stdout/stderr to the worker's own streams ("1"), e.g. into a batch job's log. */
  teeOutput: 'CM_TEE_OUTPUT',
} as const;

/** A worker's connection settings, as read from its environment by {@link readWorkerEnv}. */
export interface WorkerEnv {
  masterHost: string;
  masterPort: number;
  secret: string | undefined;
  secretFile: string | undefined;
  launchId: string;
  taskIndex: number | undefined;
  taskIndexVars: string | undefined;
  taskIndexBase: '0' | '1' | undefined;
  jobIdVars: string | undefined;
  endsAt: number | undefined;
  connectTimeoutMs: number | undefined;
  teeOutput: string | undefined;
  tls: '0' | '1' | undefined;
}

/**
 * Read and check the worker's settings. Checked by hand, not with zod: this runs on every
 * worker's start, and loading zod (95 modules) was the largest part of a worker's start-up
 * (docs/decisions.md, "The worker starts without zod"); test/worker-start.test.ts holds these
 * rules as a zod schema and checks that both agree. Returns the settings, or every problem found.
 */
export function readWorkerEnv(env: NodeJS.ProcessEnv): { ok: true; value: WorkerEnv } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined) problems.push(`${name} is not set`);
    else if (value === '') problems.push(`${name} is empty`);
    return value ?? '';
  };
  const whole = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) {
      problems.push(`${name} must be a whole number, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return Number(value);
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const value = env[name];
    if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
    problems.push(`${name} must be ${allowed.map((a) => `"${a}"`).join(' or ')}, got ${JSON.stringify(value)}`);
    return undefined;
  };
  const masterHost = required(WORKER_ENV.masterHost);
  const portText = env[WORKER_ENV.masterPort];
  if (portText === undefined) problems.push(`${WORKER_ENV.masterPort} is not set`);
  const masterPort = whole(WORKER_ENV.masterPort, portText);
  if (masterPort !== undefined && (masterPort < 1 || masterPort > 65535)) problems.push(`${WORKER_ENV.masterPort} must be a port from 1 to 65535, got ${masterPort}`);
  const secretFile = env[WORKER_ENV.secretFile];
  if (secretFile === '') problems.push(`${WORKER_ENV.secretFile} is empty`);
  const launchId = required(WORKER_ENV.launchId);
  const value: WorkerEnv = {
    masterHost,
    masterPort: masterPort ?? 0,
    // Checked when read (worker/secret.ts), with a message that says what is wrong with it.
    secret: env[WORKER_ENV.secret],
    secretFile,
    launchId,
    taskIndex: whole(WORKER_ENV.taskIndex, env[WORKER_ENV.taskIndex]),
    taskIndexVars: env[WORKER_ENV.taskIndexVars],
    taskIndexBase: oneOf(WORKER_ENV.taskIndexBase, ['0', '1']),
    jobIdVars: env[WORKER_ENV.jobIdVars],
    endsAt: whole(WORKER_ENV.endsAt, env[WORKER_ENV.endsAt]),
    connectTimeoutMs: whole(WORKER_ENV.connectTimeoutMs, env[WORKER_ENV.connectTimeoutMs]),
    teeOutput: env[WORKER_ENV.teeOutput],
    tls: oneOf(WORKER_ENV.tls, ['0', '1']),
  };
  return problems.length === 0 ? { ok: true, value } : { ok: false, problems };
}

/** The first of `names` (comma-separated) that is set in `env` and passes `accept`. */
export function firstSetVariable(env: NodeJS.ProcessEnv, names: string | undefined, accept: (value: string) => boolean = (value) => value !== ''): string | undefined {
  for (const name of (names ?? '').split(',')) {
    const value = env[name.trim()];
    if (name.trim() && value !== undefined && accept(value)) return value;
  }
  return undefined;
}
