/**
 * Workers inside the allocation the master already runs in (SlurmClusterManager.jl's mode):
 * one command (`srun`) starts all of them as tasks, with no submission and nothing queued.
 * Fails the launch with the command's stderr if it ends before the workers join.
 * @module
 */
import { execa, type ResultPromise } from 'execa';
import { LaunchError } from '../errors.js';
import type { LaunchContext } from '../manager/types.js';
import { WORKER_ENV } from '../worker/env.js';
import { shellJoin } from '../util/shell.js';
import type { Argv, AllocationDeclaration } from './driver.js';

const STDERR_TAIL_LINES = 20;
const TERM_GRACE_MS = 3_000;

/** One running step: the command that started a launch's workers inside the allocation. */
export class AllocationStep {
  /** The launch whose workers it starts. */
  readonly launchId: string;
  readonly #child: ResultPromise;
  readonly #stderrTail: string[] = [];
  readonly exited: Promise<void>;
  #exit: string | undefined;

  constructor(
    scheduler: string,
    declaration: AllocationDeclaration,
    argv: Argv,
    context: LaunchContext,
    extra: { env: Readonly<Record<string, string>>; expected: number },
  ) {
    this.launchId = context.launchId;
    const [file, ...args] = argv;
    this.#child = execa(file!, args, {
      env: {
        ...extra.env,
        ...context.workerEnv,
        [WORKER_ENV.taskIndexVars]: declaration.taskIndexVars.join(','),
        [WORKER_ENV.jobIdVars]: declaration.jobIdVars.join(','),
      },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      // Our interrupt hook stops it; signal-exit's would keep the master from dying on Ctrl-C.
      cleanup: false,
    });
    this.#child.stdout?.resume();
    this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.#stderrTail.push(...text.split('\n').filter(Boolean));
      this.#stderrTail.splice(0, Math.max(0, this.#stderrTail.length - STDERR_TAIL_LINES));
    });
    this.exited = this.#child.then((result) => {
      this.#exit = result.signal ? `was killed by ${result.signal}` : `exited with code ${String(result.exitCode)}`;
      if (context.joined() < extra.expected && !context.signal.aborted) {
        context.fail(
          new LaunchError(`${scheduler}: \`${shellJoin(argv)}\` ${this.#exit} before all workers joined (${context.joined()} of ${extra.expected})`, {
            manager: scheduler,
            joined: context.joined(),
            expected: extra.expected,
            stderrTail: this.#stderrTail.join('\n') || undefined,
          }),
        );
      }
    });
  }

  /** How the step ended, once it has. */
  get exit(): string | undefined {
    return this.#exit;
  }

  /** Stop the step (its tasks with it): SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), TERM_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stop it now, from a signal or exit handler (its workers also leave when the master's connections close). */
  stopSync(): void {
    if (this.#exit === undefined) this.#child.kill('SIGTERM');
  }
}
