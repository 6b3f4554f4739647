/**
 * One long-lived local command that runs workers: a `cm-worker` itself (LocalManager,
 * affinity), or a command that runs them elsewhere for as long as it lives (`srun` inside an
 * allocation, `qrsh -now no`, `bpsh NODE`). One class for all of them: how it is started
 * (environment, no stdin), the tail of its stderr kept to explain a failure, how it ended,
 * and stopping it with one grace period between SIGTERM and SIGKILL.
 * @module
 */
import type { Socket } from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { STDERR_TAIL_LINES, TERM_GRACE_MS } from '../util/limits.js';
import { shellJoin } from '../util/shell.js';

/** How to start a {@link WorkerProcess}. */
export interface WorkerProcessOptions {
  /** Its environment, added to the master's. */
  env: Readonly<Record<string, string>>;
  /** Working directory (default: the master's). */
  cwd?: string | undefined;
  /**
   * Let the master exit while it runs (local workers follow their master when its connections
   * close). Launch commands that are the workers' only link to their node stay referenced.
   */
  unref?: boolean;
}

/** How long output may still arrive after the process exited, ms. */
const OUTPUT_DRAIN_MS = 200;

/** A running command that carries one or more workers. */
export class WorkerProcess {
  /** The command as it was started, shell-quoted, for messages. */
  readonly commandLine: string;
  /** Resolves when it has ended (never rejects). */
  readonly exited: Promise<void>;
  readonly #child: ResultPromise;
  readonly #stderrTail: string[] = [];
  #exit: string | undefined;
  #failedToStart = false;

  constructor(argv: readonly string[], options: WorkerProcessOptions) {
    const [file, ...args] = argv;
    if (!file) throw new TypeError('WorkerProcess: empty command');
    this.commandLine = shellJoin(argv);
    this.#child = execa(file, args, {
      env: options.env,
      cwd: options.cwd,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      // Our own shutdown and interrupt hooks stop it; execa's exit hook would keep a master
      // that is interrupted from ending the conventional way.
      cleanup: false,
    });
    if (options.unref) {
      this.#child.unref();
      (this.#child.stdout as Socket | null)?.unref?.();
      (this.#child.stderr as Socket | null)?.unref?.();
    }
    // Before a worker joins, its own output is all there is to explain a failure; afterwards
    // it forwards output over the connection, so these streams are mostly silent.
    this.#child.stdout?.resume();
    this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.#stderrTail.push(...text.split('\n').filter(Boolean));
      this.#stderrTail.splice(0, Math.max(0, this.#stderrTail.length - STDERR_TAIL_LINES));
    });
    this.exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (exit: string, failedToStart = false) => {
        if (done) return;
        done = true;
        this.#exit = exit;
        this.#failedToStart = failedToStart;
        resolve();
      };
      // A command that never started has no 'exit': execa's result says why.
      void this.#child.then((result) => {
        if (result.exitCode === undefined && !result.signal && !result.isTerminated) {
          const cause = (result.cause ?? { code: (result as { code?: string }).code, message: result.shortMessage }) as NodeJS.ErrnoException;
          finish(`could not be started: ${describeSpawnError(cause, file, options.cwd)}`, true);
        }
      });
      // 'exit', not the end of its output: a grandchild that inherited stdout (srun's helpers,
      // a daemonised tool) must not keep us waiting. Output still in flight gets a moment.
      this.#child.once('exit', (code, signal) => {
        const exit = signal ? `killed by ${signal}` : `exited with code ${String(code)}`;
        const grace = setTimeout(() => {
          this.#child.stdout?.destroy();
          this.#child.stderr?.destroy();
          finish(exit);
        }, OUTPUT_DRAIN_MS);
        grace.unref();
        this.#child.once('close', () => {
          clearTimeout(grace);
          finish(exit);
        });
      });
    });
  }

  /** Its pid (undefined when it could not be started). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** How it ended (`exited with code 3`, `killed by SIGKILL`, `could not be started: …`), once it has. */
  get exit(): string | undefined {
    return this.#exit;
  }

  /** It ended with a failure (non-zero, a signal, or never started). */
  get failed(): boolean {
    return this.#exit !== undefined && this.#exit !== 'exited with code 0';
  }

  /** It could not be started at all. */
  get failedToStart(): boolean {
    return this.#failedToStart;
  }

  /** The last lines of its stderr, or undefined when it wrote none. */
  stderrTail(): string | undefined {
    return this.#stderrTail.join('\n') || undefined;
  }

  /** Its last stderr lines that start with `prefix` (a worker's own last words, `cm-worker: …`). */
  lastLine(prefix: string): string | undefined {
    return this.#stderrTail.filter((line) => line.startsWith(prefix)).at(-1);
  }

  /** Be told what it prints on stdout (e.g. a launcher announcing the remote pid), chunk by chunk. */
  onStdout(listener: (text: string) => void): void {
    this.#child.stdout?.setEncoding('utf8').on('data', listener);
  }

  /** Send a signal now (SIGKILL for a worker that is declared lost). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exit === undefined) this.#child.kill(signal);
  }

  /** Stop it: `signal` (SIGTERM), then SIGKILL after the grace period; resolves when it has ended. */
  async stop(graceMs: number = TERM_GRACE_MS, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Ask it to stop from a signal or exit handler, where nothing asynchronous runs any more. */
  stopSync(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.#exit === undefined) this.#child.kill(signal);
  }
}

/** The reason a command could not start, in words that say what to fix. */
function describeSpawnError(error: NodeJS.ErrnoException, file: string, cwd: string | undefined): string {
  if (!error.code) return error.message;
  if (error.code === 'ENOENT') return cwd ? `\`${file}\` or the working directory \`${cwd}\` does not exist` : `\`${file}\` was not found`;
  if (error.code === 'EACCES') return `\`${file}\` is not executable (permission denied)`;
  return `${error.code}: ${error.message}`;
}
