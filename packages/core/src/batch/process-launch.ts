/**
 * Workers carried by long-lived local commands instead of a queued job (Parsl's launchers):
 * `srun` inside the master's allocation (one command per launch), `qrsh -now no` (Grid
 * Engine) or `bpsh NODE` (Scyld, placed by `beomap`), one command per worker. Each command
 * is a {@link WorkerProcess}; a command that ends before its workers joined fails the launch
 * with its stderr, and stopping a launch stops its commands (and, where ending the command
 * does not end the remote worker, runs the driver's `stop` command for it).
 * @module
 */
import { LaunchError } from '../errors.js';
import type { LaunchContext, WorkerConfig } from '../manager/types.js';
import { WorkerProcess } from '../local/worker-process.js';
import { WORKER_ENV } from '../worker/env.js';
import type { Argv, Flag, ProcessLaunchDeclaration } from './driver.js';
import { SchedulerError } from './errors.js';
import type { CommandRunner } from './runner.js';

/** What a process launch needs besides the driver's declaration. */
export interface ProcessLaunchInit {
  scheduler: string;
  declaration: ProcessLaunchDeclaration;
  context: LaunchContext;
  runner: CommandRunner;
  np: number;
  flags: readonly Flag[];
  extraFlags: readonly string[];
  /** The program and arguments that start one worker. */
  worker: Argv;
  /** Environment of every command: the workers' connection settings (secret as a file) and the user's `env`. */
  env: Readonly<Record<string, string>>;
}

interface Carrier {
  process: WorkerProcess;
  /** The task index of its worker (per-worker commands). */
  index: number | undefined;
  place: string | undefined;
  /** Its worker's pid where it runs: announced by the command (`remotePid`) or reported at join. */
  remotePid?: number;
  /** The driver's `stop` ran (or runs) for it. */
  stopping?: Promise<void>;
}

/** The commands of one launch. */
export class ProcessLaunch {
  readonly launchId: string;
  readonly #init: ProcessLaunchInit;
  readonly #carriers: Carrier[] = [];
  #stopped = false;

  private constructor(init: ProcessLaunchInit) {
    this.#init = init;
    this.launchId = init.context.launchId;
  }

  /**
   * Place the workers (when the driver places them) and start their commands.
   * @throws SchedulerError when placement fails (the scheduler's words and what to do)
   */
  static async start(init: ProcessLaunchInit): Promise<ProcessLaunch> {
    const launch = new ProcessLaunch(init);
    const places = await launch.#place();
    const { declaration, np } = init;
    if (declaration.per === 'launch') {
      launch.#spawn(declaration.command({ np, index: 0, place: places?.[0], flags: init.flags, extraFlags: init.extraFlags, worker: init.worker }), undefined, places?.[0]);
    } else {
      for (let index = 0; index < np && !init.context.signal.aborted; index++) {
        const place = places?.[index];
        launch.#spawn(declaration.command({ np, index, place, flags: init.flags, extraFlags: init.extraFlags, worker: init.worker }), index, place);
      }
    }
    return launch;
  }

  async #place(): Promise<string[] | undefined> {
    const { place } = this.#init.declaration;
    if (!place) return undefined;
    const { runner, scheduler, np } = this.#init;
    const argv = place.command(np);
    const output = await runner.run(scheduler, argv);
    const places = output.exitCode === 0 ? place.parse(output, np) : { error: 'it failed' };
    if (Array.isArray(places)) return places;
    // `env NAME=value beomap …` sets a variable the placing command reads: name the command itself.
    const program = argv.find((word) => word !== 'env' && !/^[A-Za-z_]\w*=/.test(word)) ?? argv[0];
    throw new SchedulerError(`${program} could not place ${np} worker${np === 1 ? '' : 's'} (${places.error})`, {
      ...output,
      scheduler,
      command: argv,
      expected: np,
      hint: this.#init.declaration.hint?.(`${output.stderr}\n${output.stdout}`),
    });
  }

  #spawn(argv: Argv, index: number | undefined, place: string | undefined): void {
    const { declaration, context, scheduler, np } = this.#init;
    const env = {
      ...this.#init.env,
      [WORKER_ENV.taskIndexVars]: declaration.taskIndexVars.join(','),
      [WORKER_ENV.jobIdVars]: declaration.jobIdVars.join(','),
      ...(index === undefined ? {} : { [WORKER_ENV.taskIndex]: String(index) }),
    };
    const process = new WorkerProcess(argv, { env });
    const carrier: Carrier = { process, index, place };
    this.#carriers.push(carrier);
    const { remotePid } = declaration;
    if (remotePid) {
      let seen = '';
      process.onStdout((text) => {
        if (carrier.remotePid !== undefined || seen.length > 4096) return;
        seen += text;
        const match = remotePid.exec(seen);
        if (match?.[1]) carrier.remotePid = Number(match[1]);
      });
    }
    void process.exited.then(() => {
      if (this.#stopped || context.signal.aborted || context.joined() >= np) return;
      const which = index === undefined ? '' : ` (worker ${index}${place === undefined ? '' : ` on ${place}`})`;
      const tail = process.stderrTail();
      const hint = declaration.hint?.(tail ?? '');
      context.fail(
        new LaunchError(`${scheduler}: \`${process.commandLine}\`${which} ${process.exit} before its workers joined (${context.joined()} of ${np} joined)${hint ? ` — ${hint}` : ''}`, {
          manager: scheduler,
          joined: context.joined(),
          expected: np,
          stderrTail: tail,
        }),
      );
    });
  }

  #carrierOf(worker: WorkerConfig): Carrier | undefined {
    return this.#carriers.find((c) => c.index !== undefined && c.index === worker.taskIndex);
  }

  /** A worker of this launch joined: remember its pid for the driver's `stop` command. */
  workerJoined(worker: WorkerConfig): void {
    const carrier = this.#carrierOf(worker);
    if (carrier) carrier.remotePid ??= worker.pid;
  }

  /** Every command of the launch has ended. */
  get ended(): boolean {
    return this.#carriers.every((c) => c.process.exit !== undefined);
  }

  /** Resolves when every command has ended. */
  get exited(): Promise<void> {
    return Promise.all(this.#carriers.map((c) => c.process.exited)).then(() => undefined);
  }

  /** How the command that carried this worker ended, once it has (waits at most `waitMs`). */
  async explain(worker: WorkerConfig, waitMs: number): Promise<string | undefined> {
    const carrier = this.#carriers.find((c) => c.index === undefined || c.index === worker.taskIndex);
    if (!carrier) return undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([carrier.process.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    return carrier.process.exit === undefined ? undefined : `the ${this.#init.scheduler} command that ran it (\`${carrier.process.commandLine}\`) ended: ${carrier.process.exit}`;
  }

  /** Stop one worker's command (its worker was removed or lost). */
  async stopWorker(worker: WorkerConfig): Promise<void> {
    const carrier = this.#carrierOf(worker);
    if (carrier) await Promise.all([carrier.process.stop(undefined, this.#init.declaration.stopSignal), this.#stopRemote(carrier)]);
  }

  /**
   * Stop every command and every remote worker the driver can stop — also those that had not
   * joined, when the command announced their pid — and wait for stops already under way.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#carriers.flatMap((carrier) => [carrier.process.stop(undefined, this.#init.declaration.stopSignal), this.#stopRemote(carrier)]));
  }

  /** From a signal or exit handler: ask every command and remote worker to stop, blocking. */
  stopSync(): void {
    this.#stopped = true;
    const declaration = this.#init.declaration;
    for (const carrier of this.#carriers) {
      carrier.process.stopSync(declaration.stopSignal);
      if (!declaration.stop || carrier.remotePid === undefined || carrier.stopping) continue;
      try {
        this.#init.runner.runSync(this.#init.scheduler, declaration.stop({ pid: carrier.remotePid, place: carrier.place }), { timeoutMs: 5_000 });
      } catch {
        // Best effort while the master is going down: the worker also leaves when its connection closes.
      }
    }
  }

  /** Run the driver's `stop` for a carrier's remote worker once; later calls wait for that one. */
  #stopRemote(carrier: Carrier): Promise<void> {
    const declaration = this.#init.declaration;
    if (!declaration.stop || carrier.remotePid === undefined) return Promise.resolve();
    carrier.stopping ??= this.#init.runner.run(this.#init.scheduler, declaration.stop({ pid: carrier.remotePid, place: carrier.place }), { timeoutMs: 15_000 }).then(
      () => undefined,
      () => undefined,
    );
    return carrier.stopping;
  }
}
