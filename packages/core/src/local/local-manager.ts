/**
 * LocalManager: N `cm-worker` processes on this machine. The default for demos and tests,
 * and the base that CPU pinning builds on (`wrap` runs the worker under another command).
 * @module
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { LaunchError, UsageError } from '../errors.js';
import type { ClusterManager, LaunchContext, WorkerConfig } from '../manager/types.js';
import { WORKER_ENV } from '../worker/env.js';
import { parseOptions } from '../util/validate.js';
import type { LocalManagerOptions } from './local-manager-options.js';
import { WorkerProcess } from './worker-process.js';

/** More local workers than this is a mistake (a count of items, not of processes). */
export const MAX_LOCAL_WORKERS = 1024;

export const localManagerOptionsSchema = z
  .object({
    /** Number of workers (default: the number of CPUs), at most 1024. */
    np: z.number().int().positive().max(MAX_LOCAL_WORKERS, `at most ${MAX_LOCAL_WORKERS} local workers; each is a Node.js process`).optional(),
    /** Extra environment variables for the workers. */
    env: z.record(z.string(), z.string()).default({}),
    /** Working directory of the workers (default: the master's); must exist. */
    cwd: z.string().optional(),
    /** Node.js flags for the workers, e.g. `['--max-old-space-size=4096']`. */
    nodeArgs: z.array(z.string()).default([]),
  })
  .strict();
export type { LocalManagerOptions } from './local-manager-options.js';

/** Turns one worker's argv into the argv actually run (e.g. under `taskset`). */
export type CommandWrapper = (command: { file: string; args: string[] }, taskIndex: number) => { file: string; args: string[] };

/**
 * Starts `np` local worker processes.
 *
 * @example
 * ```ts
 * const ids = await cluster.addprocs(new LocalManager(4));
 * ```
 */
export class LocalManager implements ClusterManager {
  readonly name: string = 'local';
  readonly expectedWorkers: number;
  readonly defaultLaunchTimeoutMs = 60_000;
  protected readonly options: z.output<typeof localManagerOptionsSchema>;
  readonly #processes = new Map<string, WorkerProcess>();

  /** @throws UsageError for invalid options (a count out of range, a working directory that does not exist) */
  constructor(
    np?: number | LocalManagerOptions,
    protected readonly wrap?: CommandWrapper,
  ) {
    if (np !== undefined && typeof np !== 'number' && (typeof np !== 'object' || np === null)) {
      throw new UsageError(`LocalManager takes a number of workers or an options object, got ${typeof np} ${JSON.stringify(np)}`, 'np');
    }
    this.options = parseOptions(localManagerOptionsSchema, typeof np === 'number' ? { np } : np, 'LocalManager options');
    this.expectedWorkers = this.options.np ?? os.availableParallelism();
    const { cwd } = this.options;
    if (cwd !== undefined && !isDirectory(cwd)) throw new UsageError(`LocalManager: the working directory \`${cwd}\` does not exist (option \`cwd\`)`, 'cwd');
  }

  /** The same options, `count` workers per launch (what `cluster.adapt` launches). */
  withWorkers(count: number): ClusterManager {
    return new LocalManager({ ...this.options, np: count }, this.wrap);
  }

  async launch(context: LaunchContext): Promise<void> {
    for (let index = 0; index < this.expectedWorkers; index++) {
      if (context.signal.aborted) return;
      this.#start(context, index);
      // Starting a process blocks the loop for a few ms: let connections and timers run between them.
      if (index % 4 === 3) await nextTurn();
    }
  }

  #start(context: LaunchContext, taskIndex: number): void {
    const base = { file: context.workerCommand.file, args: [...this.options.nodeArgs, ...context.workerCommand.args] };
    const command = this.wrap ? this.wrap(base, taskIndex) : base;
    // Workers must not keep the master's process alive: a finished program exits, and its
    // workers follow when their connections close. (A launch in progress is held open by its timeout.)
    const proc = new WorkerProcess([command.file, ...command.args], {
      env: { ...context.workerEnv, ...this.options.env, [WORKER_ENV.taskIndex]: String(taskIndex) },
      cwd: this.options.cwd,
      unref: true,
    });
    const key = `${context.launchId}:${taskIndex}`;
    this.#processes.set(key, proc);
    void proc.exited.then(() => {
      if (context.joined() < this.expectedWorkers && !context.signal.aborted && proc.failed) {
        context.fail(
          new LaunchError(`local worker ${taskIndex} ${proc.exit} before joining (${proc.commandLine})`, {
            manager: this.name,
            joined: context.joined(),
            expected: this.expectedWorkers,
            stderrTail: proc.stderrTail(),
          }),
        );
      }
    });
  }

  #process(worker: WorkerConfig): WorkerProcess | undefined {
    return this.#processes.get(`${worker.launchId}:${worker.taskIndex ?? -1}`);
  }

  manage(worker: WorkerConfig, event: 'joined' | 'lost' | 'removed'): void {
    if (event === 'joined') return;
    const key = `${worker.launchId}:${worker.taskIndex ?? -1}`;
    void this.#processes.get(key)?.exited.then(() => this.#processes.delete(key));
  }

  async kill(worker: WorkerConfig): Promise<void> {
    const proc = this.#process(worker);
    proc?.kill('SIGKILL');
    await proc?.exited;
  }

  async explainLoss(worker: WorkerConfig): Promise<string | undefined> {
    const proc = this.#process(worker);
    if (!proc) return undefined;
    await proc.exited;
    // The worker's last words on its own stderr (e.g. the uncaught exception that ended it).
    const last = proc.lastLine('cm-worker:');
    return last ? `${proc.exit}: ${last.replace(/^cm-worker:\s*/, '')}` : proc.exit;
  }

  async shutdown(_reason?: string, launchId?: string): Promise<void> {
    const mine = [...this.#processes.entries()].filter(([key]) => launchId === undefined || key.startsWith(`${launchId}:`));
    await Promise.all(mine.map(([, proc]) => proc.stop()));
    for (const [key] of mine) this.#processes.delete(key);
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
