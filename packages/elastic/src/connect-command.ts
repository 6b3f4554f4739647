/**
 * The shell line that starts one elastic worker anywhere: the master's address, the launch
 * id, the path of the secret file and (when the cluster encrypts) the TLS switch in the environment, then node and the `cm-worker`
 * entry. It never contains the secret itself.
 * @module
 */
import { WORKER_ENV, shellJoin, shellQuote } from '@cm/core/driver';

/** How the connect command is written. */
export interface ConnectCommandOptions {
  /** Absolute path of this node executable (default), or plain `node` found on the worker machine's PATH. */
  absoluteExe?: boolean;
  /** Start with `cd <the master's working directory> &&` (default), so relative paths in user code resolve alike. */
  sameCwd?: boolean;
}

/** What a connect command is built from (known once the manager's launch has begun). */
export interface ConnectTarget {
  host: string;
  port: number;
  launchId: string;
  secretFile: string;
  /** The cluster encrypts connections (`new Cluster({ encrypt: true })`): workers must dial with TLS. */
  tls: boolean;
  /** `node` and its arguments (`…/cm-worker`), as core launches workers. */
  workerCommand: { readonly file: string; readonly args: readonly string[] };
  cwd: string;
}

/**
 * One line for a POSIX shell. `env NAME=value …` rather than `NAME=value …`, so the line
 * also works from csh and fish.
 */
export function connectCommand(target: ConnectTarget, options: ConnectCommandOptions = {}): string {
  const exe = options.absoluteExe === false ? 'node' : target.workerCommand.file;
  const variables = [
    `${WORKER_ENV.masterHost}=${target.host}`,
    `${WORKER_ENV.masterPort}=${target.port}`,
    `${WORKER_ENV.launchId}=${target.launchId}`,
    `${WORKER_ENV.secretFile}=${target.secretFile}`,
    // Without it a worker speaks plain TCP to a TLS master and never joins.
    ...(target.tls ? [`${WORKER_ENV.tls}=1`] : []),
  ];
  const command = shellJoin(['env', ...variables, exe, ...target.workerCommand.args]);
  return options.sameCwd === false ? command : `cd ${shellQuote(target.cwd)} && ${command}`;
}
