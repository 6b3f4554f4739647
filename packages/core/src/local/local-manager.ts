/**
 * LocalManager: N `cm-worker` processes on this machine. The default for demos and tests,
 * and the base that CPU pinning builds on (`wrap` runs the worker under another command).
 * @module
 */
import type { Socket } from 'node:net';
import os from 'node:os';
import { execa, type ResultPromise } from 'execa';
import { z } from 'zod';
import { LaunchError } from '../errors.js';
import type { ClusterManager, LaunchContext, WorkerConfig } from '../manager/types.js';
import { WORKER_ENV } from '../worker/env.js';
import { parseOptions } from '../util/validate.js';

const STDERR_TAIL_LINES = 20;
const TERM_GRACE_MS = 2_000;

export const localManagerOptionsSchema = z
  .object({
    /** Number of workers (default: the number of CPUs). */
    np: z.number().int().positive().optional(),
    /** Extra environment variables for the workers. */
    env: z.record(z.string(), z.string()).default({}),
    /** Working directory of the workers (default: the master's). */
    cwd: z.string().optional(),
    /** Node.js flags for the workers, e.g. `['--max-old-space-size=4096']`. */
    nodeArgs: z.array(z.string()).default([]),
  })
  .strict();
export type LocalManagerOptions = z.input<typeof localManagerOptionsSchema>;

interface LocalProcess {
  child: ResultPromise;
  stderrTail: string[];
  /** How it ended, once it has. */
  exit?: string;
  exited: Promise<void>;
}

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
  readonly #processes = new Map<string, LocalProcess>();

  /** @throws UsageError for invalid options */
  constructor(np?: number | LocalManagerOptions, protected readonly wrap?: CommandWrapper) {
    this.options = parseOptions(localManagerOptionsSchema, typeof np === 'number' ? { np } : np, 'LocalManager options');
    this.expectedWorkers = this.options.np ?? os.availableParallelism();
  }

  async launch(context: LaunchContext): Promise<void> {
    for (let index = 0; index < this.expectedWorkers; index++) {
      this.#start(context, index);
    }
  }

  #start(context: LaunchContext, taskIndex: number): void {
    const base = { file: context.workerCommand.file, args: [...this.options.nodeArgs, ...context.workerCommand.args] };
    const command = this.wrap ? this.wrap(base, taskIndex) : base;
    const child = execa(command.file, command.args, {
      env: { ...context.workerEnv, ...this.options.env, [WORKER_ENV.taskIndex]: String(taskIndex) },
      cwd: this.options.cwd,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
    });
    // Workers must not keep the master's process alive: a finished program exits, and its
    // workers follow when their connections close. (A launch in progress is held open by its timeout.)
    child.unref();
    (child.stdout as Socket | null)?.unref();
    (child.stderr as Socket | null)?.unref();
    const proc: LocalProcess = { child, stderrTail: [], exited: Promise.resolve() };
    const key = `${context.launchId}:${taskIndex}`;
    this.#processes.set(key, proc);
    // Before a worker joins, its own output is all there is to explain a failure; afterwards
    // it forwards output over the connection, so these streams are mostly silent.
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      proc.stderrTail.push(...text.split('\n').filter(Boolean));
      proc.stderrTail.splice(0, Math.max(0, proc.stderrTail.length - STDERR_TAIL_LINES));
    });
    child.stdout?.resume();
    proc.exited = child.then((result) => {
      proc.exit = result.signal ? `killed by ${result.signal}` : `exited with code ${String(result.exitCode)}`;
      if (context.joined() < this.expectedWorkers && !context.signal.aborted && result.failed) {
        context.fail(
          new LaunchError(`local worker ${taskIndex} ${proc.exit} before joining (${[command.file, ...command.args].join(' ')})`, {
            manager: this.name,
            joined: context.joined(),
            expected: this.expectedWorkers,
            stderrTail: proc.stderrTail.join('\n'),
          }),
        );
      }
    });
  }

  #process(worker: WorkerConfig): LocalProcess | undefined {
    return this.#processes.get(`${worker.launchId}:${worker.taskIndex ?? -1}`);
  }

  manage(worker: WorkerConfig, event: 'joined' | 'lost' | 'removed'): void {
    if (event === 'joined') return;
    const key = `${worker.launchId}:${worker.taskIndex ?? -1}`;
    const proc = this.#processes.get(key);
    void proc?.exited.then(() => this.#processes.delete(key));
  }

  async kill(worker: WorkerConfig): Promise<void> {
    const proc = this.#process(worker);
    proc?.child.kill('SIGKILL');
    await proc?.exited;
  }

  async explainLoss(worker: WorkerConfig): Promise<string | undefined> {
    const proc = this.#process(worker);
    if (!proc) return undefined;
    await proc.exited;
    // The worker's last words on its own stderr (e.g. the uncaught exception that ended it).
    const last = proc.stderrTail.filter((line) => line.startsWith('cm-worker:')).at(-1);
    return last ? `${proc.exit}: ${last.replace(/^cm-worker:\s*/, '')}` : proc.exit;
  }

  async shutdown(_reason?: string, launchId?: string): Promise<void> {
    const mine = [...this.#processes.entries()].filter(([key]) => launchId === undefined || key.startsWith(`${launchId}:`));
    const running = mine.map(([, proc]) => proc).filter((p) => p.exit === undefined);
    for (const proc of running) {
      proc.child.kill('SIGTERM');
      setTimeout(() => proc.child.kill('SIGKILL'), TERM_GRACE_MS).unref();
    }
    await Promise.all(running.map((p) => p.exited));
    for (const [key] of mine) this.#processes.delete(key);
  }
}
