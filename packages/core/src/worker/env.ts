/**
 * The environment variables that tell a `cm-worker` where its master is and who it is.
 * The master (through a manager) sets them; the worker reads them. Documented in
 * docs/protocol.md, so a worker written in another language reads the same names.
 * @module
 */
import { z } from 'zod';

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

const envInt = (name: string) =>
  z
    .string({ error: `${name} is not set` })
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number);

export const workerEnvSchema = z.object({
  [WORKER_ENV.masterHost]: z.string({ error: `${WORKER_ENV.masterHost} is not set` }).min(1),
  [WORKER_ENV.masterPort]: envInt(WORKER_ENV.masterPort).pipe(z.number().min(1).max(65535)),
  // Checked when read (worker/secret.ts), with a message that says what is wrong with it.
  [WORKER_ENV.secret]: z.string().optional(),
  [WORKER_ENV.secretFile]: z.string().min(1).optional(),
  [WORKER_ENV.launchId]: z.string({ error: `${WORKER_ENV.launchId} is not set` }).min(1),
  [WORKER_ENV.taskIndex]: envInt(WORKER_ENV.taskIndex).optional(),
  [WORKER_ENV.taskIndexVars]: z.string().optional(),
  [WORKER_ENV.taskIndexBase]: z.enum(['0', '1']).optional(),
  [WORKER_ENV.jobIdVars]: z.string().optional(),
  [WORKER_ENV.endsAt]: envInt(WORKER_ENV.endsAt).optional(),
  [WORKER_ENV.connectTimeoutMs]: envInt(WORKER_ENV.connectTimeoutMs).optional(),
  [WORKER_ENV.teeOutput]: z.string().optional(),
  [WORKER_ENV.tls]: z.enum(['0', '1']).optional(),
});

/** The first of `names` (comma-separated) that is set in `env` and passes `accept`. */
export function firstSetVariable(env: NodeJS.ProcessEnv, names: string | undefined, accept: (value: string) => boolean = (value) => value !== ''): string | undefined {
  for (const name of (names ?? '').split(',')) {
    const value = env[name.trim()];
    if (name.trim() && value !== undefined && accept(value)) return value;
  }
  return undefined;
}
