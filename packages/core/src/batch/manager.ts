/**
 * JobQueueManager: the ClusterManager every batch driver extends. The driver declares what is
 * specific to its scheduler ({@link SchedulerDriver}); this class renders the job script,
 * submits it once per `addprocs` with retry, watches the jobs, reports progress, fails fast,
 * explains lost workers and cancels every job it submitted when they are no longer needed.
 * Its parts live beside it: the ledger of live jobs, cancels and the interrupt trap
 * (live-jobs.ts), replacement before walltime (walltime-replacement.ts) and the explanation of
 * a lost worker (loss.ts).
 * @module
 */
import os from 'node:os';
import path from 'node:path';
import type { ListenRequest } from '../cluster/listener.js';
import { UsageError } from '../errors.js';
import type { ClusterManager, LaunchContext, WorkerConfig, WorkerEvent } from '../manager/types.js';
import { backoffDelays, take } from '../util/backoff.js';
import { WORKER_ENV } from '../worker/env.js';
import { workerEntryPath } from '../worker/entry.js';
import { JobCanceller } from './cancel.js';
import type { JobQueueManagerSpec } from './spec.js';
import { submitJob } from './command.js';
import { registerDriverName } from './config.js';
import { type Flag, type FlagValue, type JobLayout, type ProcessDriver, type ProcessLaunchDeclaration, type SchedulerDriver, isQueueDriver } from './driver.js';
import { optionFlags } from './flags.js';
import { EXPLAIN_WAIT_MS, explainJobEnd } from './loss.js';
import { LiveJobs } from './live-jobs.js';
import { type ResolvedJobQueueOptions, resolveOptions } from './options.js';
import { ProcessLaunch } from './process-launch.js';
import { ProgressLine } from './progress.js';
import { type CommandRunner, localRunner, sshRunner } from './runner.js';
import { launchFiles, logPaths, renderJob } from './script.js';
import { Submission } from './submission.js';
import { WalltimeReplacement, replacementLeadMs } from './walltime-replacement.js';
import { JobWatcher } from './watcher.js';

/** The launch id shown in `jobScript()` previews; a real launch has its own. */
const PREVIEW_LAUNCH_ID = 'L000000000000';

/** How one manager's launches start their workers. */
type Mode = JobLayout | 'allocation' | 'processes';

/**
 * A ClusterManager that starts workers through a batch scheduler. Extend it with a driver
 * declaration; packages/slurm is an example, and docs/batch-schedulers.md describes the machinery.
 */
export abstract class JobQueueManager implements ClusterManager {
  readonly name: string;
  /** Workers `addprocs` waits for: all of them, or as many as the scheduler runs at once under a running limit. */
  readonly expectedWorkers: number;
  /** Workers each launch submits (the `np` asked for). */
  readonly submittedWorkers: number;
  /** Workers run on compute nodes: the master listens on a routable address unless `host` says otherwise. */
  readonly needsRoutableAddress = true;
  readonly listen: ListenRequest | undefined;
  readonly defaultLaunchTimeoutMs: number;
  readonly acceptsLateWorkers: boolean;
  /**
   * `'array'`, `'tasks'`, `'allocation'` (workers started inside the master's own allocation)
   * or `'processes'` (one long-lived command per worker, for drivers without a queue).
   */
  readonly layout: Mode;
  /** The scheduler's declaration. */
  readonly driver: SchedulerDriver | ProcessDriver;
  /** Where this manager's scheduler commands run (this machine, or a login node through `sshCommand`). */
  readonly runner: CommandRunner;
  /** The generic options after site defaults and validation. */
  protected readonly options: ResolvedJobQueueOptions;
  /** The driver's settings (not flags) after site defaults and validation. */
  protected readonly settings: Readonly<Record<string, unknown>>;
  /** The scheduler flags after site defaults and validation, canonical keys. */
  protected readonly flags: Readonly<Record<string, FlagValue>>;
  /** Where each option came from (`code`, a config file, an environment variable). */
  protected readonly optionSources: Readonly<Record<string, string>>;
  readonly #flagOrder: readonly string[];
  readonly #watcher: JobWatcher | undefined;
  /** The jobs, commands and secret files of this manager's launches that may still be live. */
  readonly #live: LiveJobs;
  readonly #walltimeSeconds: number | undefined;
  /** With `replaceBeforeWalltime`: the timers that submit each job again before its walltime. */
  readonly #replacement: WalltimeReplacement | undefined;
  /** The `np` and options this manager was made with, for `withWorkers`. */
  readonly #given: { readonly np: number | undefined; readonly options: object | undefined };
  /** With `replaceBeforeWalltime`: how long before a worker's walltime its replacement is started. */
  readonly walltimeLeadMs: number | undefined;

  /** @throws UsageError naming the invalid option, where it was set (code, config file, environment variable) and what was probably meant */
  protected constructor(np: number | undefined, options: object | undefined, spec: JobQueueManagerSpec) {
    const env = spec.env ?? process.env;
    this.#given = { np, options };
    const name = spec.name ?? (typeof spec.driver === 'function' ? undefined : spec.driver.name);
    if (!name) throw new TypeError('JobQueueManagerSpec: `name` is required when `driver` is a function');
    registerDriverName(name);
    if (np !== undefined && (typeof np !== 'number' || !Number.isInteger(np) || np < 1)) {
      throw new UsageError(`${name}: the number of workers must be a whole number >= 1, got ${JSON.stringify(np)}`, 'np');
    }
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      throw new UsageError(`${name}: options must be an object, got ${JSON.stringify(options)}`, 'options');
    }
    const resolved = resolveOptions(name, spec, (options ?? {}) as Readonly<Record<string, unknown>>, env);
    this.options = resolved.generic;
    this.settings = resolved.settings;
    this.flags = resolved.flags;
    this.optionSources = resolved.sources;
    this.runner = this.options.sshCommand ? sshRunner(this.options.sshCommand) : localRunner;
    const driver = typeof spec.driver === 'function' ? spec.driver(this.settings, this.runner) : spec.driver;
    this.driver = driver;
    this.name = driver.name;
    this.#flagOrder = Object.keys(spec.flagSchema.shape);
    const allocation = isQueueDriver(driver) ? driver.allocation?.detect(env) : undefined;
    const inAllocation = this.options.inAllocation ?? (np === undefined && allocation !== undefined);
    if (inAllocation && !allocation) {
      throw new UsageError(
        `${name}: \`inAllocation\` needs the master to run inside a ${name} allocation, and this process is not in one; start it under the scheduler, or leave \`inAllocation\` out to submit a job`,
        'inAllocation',
      );
    }
    const count = np ?? (inAllocation ? allocation?.tasks : undefined);
    if (count === undefined) {
      throw new UsageError(
        `${name}: the number of workers must be a whole number >= 1, got ${String(np)}${isQueueDriver(driver) && driver.allocation ? ' (it may be left out only inside an allocation)' : ''}`,
        'np',
      );
    }
    this.layout = this.#mode(driver, inAllocation);
    /** Workers that will be submitted (`np`); `expectedWorkers` may be fewer under a running limit. */
    this.submittedWorkers = count;
    const limit = this.layout === 'array' ? spec.runningLimit?.(this.settings, this.flags, count) : undefined;
    this.expectedWorkers = limit !== undefined && limit < count ? limit : count;
    const problem = isQueueDriver(driver) ? driver.check?.(this.flags, count, this.layout === 'allocation' ? 'tasks' : (this.layout as JobLayout)) : driver.check?.(this.flags, count);
    if (problem) throw new UsageError(`invalid ${name} options: ${problem}`);
    this.#walltimeSeconds = driver.walltimeSeconds?.(this.flags);
    const lead = replacementLeadMs(name, this.options.replaceBeforeWalltime, isQueueDriver(driver), this.#walltimeSeconds);
    this.walltimeLeadMs = lead;
    this.acceptsLateWorkers = lead !== undefined || this.expectedWorkers < count;
    this.defaultLaunchTimeoutMs = this.options.launchTimeoutMs;
    const { host, port, advertiseHost } = this.options;
    this.listen = host !== undefined || port !== undefined || advertiseHost !== undefined ? { host, port, advertiseHost } : undefined;
    this.#watcher = isQueueDriver(driver) ? JobWatcher.for(driver, this.runner) : undefined;
    this.#live = new LiveJobs(this.name, this.runner, isQueueDriver(driver) ? new JobCanceller(driver, this.runner) : undefined);
    this.#replacement =
      lead === undefined
        ? undefined
        : new WalltimeReplacement({
            scheduler: this.name,
            leadMs: lead,
            closed: () => this.#live.closed,
            resubmit: (submission) => this.#submit(submission.context, submission.scriptPath, submission.script, submission.jobId),
          });
  }

  #mode(driver: SchedulerDriver | ProcessDriver, inAllocation: boolean): Mode {
    if (!isQueueDriver(driver)) {
      if (this.options.layout) throw new UsageError(`${driver.name} starts one command per worker and has no layouts; leave \`layout\` out`, 'layout');
      return 'processes';
    }
    if (inAllocation) return 'allocation';
    const layouts = Object.keys(driver.layouts) as JobLayout[];
    const layout = this.options.layout ?? layouts[0]!;
    if (!driver.layouts[layout]) throw new UsageError(`${driver.name} does not support layout '${layout}'; use one of: ${layouts.join(', ')}`, 'layout');
    return layout;
  }

  /** The user's scheduler options as flags, in the driver's style. */
  protected optionFlags(options: Readonly<Record<string, FlagValue>> = this.flags): Flag[] {
    return this.driver.optionFlags?.(options) ?? optionFlags(options, this.#flagOrder, this.driver.flagStyle);
  }

  /** Directory of job scripts, secret files and job logs (on the login node with `sshCommand`). */
  get logDir(): string {
    const dir = this.options.logDir ?? (this.runner === localRunner ? path.join(os.homedir(), '.cm', 'logs') : path.posix.join('.cm', 'logs'));
    return this.runner.resolve(dir);
  }

  /**
   * The job script (or submit file) one `addprocs` would submit, without submitting anything.
   * Its launch id is a placeholder (`L000000000000`); a real launch has its own.
   */
  jobScript(): string {
    const files = launchFiles({ launchId: PREVIEW_LAUNCH_ID, jobName: this.options.jobName, logDir: this.logDir, driver: this.#queueDriver() });
    const rendered = this.#render(PREVIEW_LAUNCH_ID, [process.execPath, workerEntryPath()], { [WORKER_ENV.secretFile]: files.secret });
    const argv = this.#queueDriver().submit.command(files.submit, this.options.submitFlags, this.#logPatterns(PREVIEW_LAUNCH_ID));
    const how = `# submitted with: ${argv.join(' ')}${this.#queueDriver().submit.stdin === 'script' ? ' < (this file)' : ''}`;
    return rendered.body ? `${rendered.submitFile}\n${how}\n# --- body script ---\n${rendered.body}` : `${rendered.submitFile}${how}\n`;
  }

  /**
   * Every option after site defaults, with where its value came from: `code`, a config file
   * and section, a `CM_*` variable, or `default` (what `cm config` prints).
   */
  configuration(): { option: string; value: unknown; source: string }[] {
    const all: Record<string, unknown> = { ...this.options, ...this.settings, ...this.flags };
    return Object.entries(all)
      .filter(([, value]) => value !== undefined)
      .map(([option, value]) => ({ option, value, source: this.optionSources[option] ?? 'default' }));
  }

  /** Ids of the jobs this manager submitted that may still be queued or running. */
  jobIds(): string[] {
    return this.#live.jobIds();
  }

  #queueDriver(): SchedulerDriver {
    if (!isQueueDriver(this.driver) || this.layout === 'allocation' || this.layout === 'processes') {
      throw new UsageError(`${this.name}: ${this.layout === 'allocation' ? 'in-allocation mode' : 'this manager'} submits no job script; it starts workers with a command of its own`);
    }
    return this.driver;
  }

  #render(launchId: string, worker: readonly string[], connection: Readonly<Record<string, string>>) {
    const driver = this.#queueDriver();
    const [node, ...rest] = worker;
    return renderJob({
      driver,
      layout: this.layout as JobLayout,
      np: this.submittedWorkers,
      launchId,
      jobName: this.options.jobName,
      logDir: this.logDir,
      optionFlags: this.optionFlags(),
      options: this.flags,
      worker: [node!, ...this.options.nodeArgs, ...rest],
      env: this.options.env,
      connection,
      prologue: this.options.prologue,
      walltimeSeconds: this.#walltimeSeconds,
    });
  }

  /**
   * The workers' connection settings without the secret, which goes into a 0600 file beside
   * the logs (through the runner: on the login node with `sshCommand`, on stdin).
   */
  async #connection(context: LaunchContext): Promise<Record<string, string>> {
    const secretFile = launchFiles({ launchId: context.launchId, jobName: this.options.jobName, logDir: this.logDir }).secret;
    const { [WORKER_ENV.secret]: secret, ...rest } = context.workerEnv;
    if (!secret) throw new TypeError('the launch context carries no secret');
    this.#live.addSecretFile(context.launchId, secretFile);
    await this.runner.writeFile(secretFile, `${secret}\n`, 0o600);
    return { ...rest, [WORKER_ENV.secretFile]: secretFile };
  }

  async launch(context: LaunchContext): Promise<void> {
    if (this.#live.closed) throw new UsageError(`${this.name} manager was shut down; create a new one for another addprocs`);
    const connection = await this.#connection(context);
    if (this.layout === 'allocation' || this.layout === 'processes') return this.#launchProcesses(context, connection);
    const files = launchFiles({ launchId: context.launchId, jobName: this.options.jobName, logDir: this.logDir, driver: this.#queueDriver() });
    const rendered = this.#render(context.launchId, [context.workerCommand.file, ...context.workerCommand.args], connection);
    if (rendered.body) await this.runner.writeFile(files.body, rendered.body, 0o755);
    await this.runner.writeFile(files.submit, rendered.submitFile, 0o644);
    await this.#submit(context, files.submit, rendered.submitFile, undefined);
  }

  async #submit(context: LaunchContext, scriptPath: string, script: string, replaces: string | undefined): Promise<void> {
    const driver = this.#queueDriver();
    const retryDelays = this.options.submitRetryDelays ?? [...take(backoffDelays({ initialMs: 1_000, maxMs: 16_000, jitter: 0.1 }), 5)];
    const progress = new ProgressLine(this.options.progress);
    const jobId = await submitJob(driver, scriptPath, {
      runner: this.runner,
      logs: this.#logPatterns(context.launchId),
      script,
      extraFlags: this.options.submitFlags,
      retryDelays,
      expected: this.submittedWorkers,
      signal: replaces ? undefined : context.signal,
      onRetry: (attempt, delay, said) => {
        const message = `${this.name}: submission attempt ${attempt} failed (${said}); retrying in ${Math.round(delay / 100) / 10} s`;
        progress.update(message);
        context.progress({ message });
      },
    });
    const layout = this.layout as JobLayout;
    const submission = new Submission({
      driver,
      watcher: this.#watcher!,
      runner: this.runner,
      context,
      jobId,
      np: this.submittedWorkers,
      layout,
      scriptPath,
      script,
      replaces,
      progress,
      poll: this.options,
      stderrPath: (taskIndex) => logPaths({ driver, layout, launchId: context.launchId, jobName: this.options.jobName, logDir: this.logDir }, { jobId, taskIndex }).stderr,
      onGone: () => this.#live.updateTrap(),
    });
    this.#live.addSubmission(submission);
    if (!replaces) context.signal.addEventListener('abort', () => void this.#live.cancel([submission]).catch(() => undefined), { once: true });
    if (this.#live.closed || (!replaces && context.signal.aborted)) await this.#live.cancel([submission]);
  }

  #logPatterns(launchId: string): { stdoutPath: string; stderrPath: string } {
    const paths = logPaths({ driver: this.#queueDriver(), layout: this.layout as JobLayout, launchId, jobName: this.options.jobName, logDir: this.logDir });
    return { stdoutPath: paths.stdout, stderrPath: paths.stderr };
  }

  async #launchProcesses(context: LaunchContext, connection: Readonly<Record<string, string>>): Promise<void> {
    const driver = this.driver;
    const declaration: ProcessLaunchDeclaration = isQueueDriver(driver) ? driver.allocation! : driver.processes;
    // Site defaults (partition, account, walltime) are for submissions: an allocation has settled them.
    const options = this.layout === 'allocation' ? Object.fromEntries(Object.entries(this.flags).filter(([key]) => this.optionSources[key] === 'code')) : this.flags;
    const launch = await ProcessLaunch.start({
      scheduler: this.name,
      declaration,
      context,
      runner: this.runner,
      np: this.expectedWorkers,
      flags: this.optionFlags(options),
      extraFlags: this.options.submitFlags,
      worker: [context.workerCommand.file, ...this.options.nodeArgs, ...context.workerCommand.args],
      env: { ...this.options.env, ...connection },
    });
    this.#live.addProcessLaunch(launch);
    const where = this.layout === 'allocation' ? ' in the current allocation' : '';
    context.progress({ message: `${this.name}: started ${declaration.per === 'launch' ? 'the command for' : 'a command for each of'} ${this.expectedWorkers} workers${where}` });
  }

  manage(worker: WorkerConfig, event: WorkerEvent): void {
    const launch = this.#live.processLaunchOf(worker);
    if (launch) {
      if (event === 'joined') launch.workerJoined(worker);
      else void launch.stopWorker(worker);
      return;
    }
    const submission = this.#live.submissionOf(worker);
    if (!submission) return;
    if (event === 'joined') {
      submission.workerJoined(worker);
      this.#replacement?.schedule(submission, worker);
      return;
    }
    const unit = submission.workerLeft(worker);
    if (unit !== undefined && !submission.gone) this.#live.cancelLeftover(submission, unit);
  }

  /**
   * The same manager (class, options, site defaults) starting `count` workers per launch, for
   * `cluster.adapt`. Its jobs are not replaced before their walltime by themselves: the
   * adaptive pool replaces a worker near its walltime only while work remains. A subclass
   * whose constructor is not `(np, options)` overrides this.
   */
  withWorkers(count: number): JobQueueManager {
    const Same = this.constructor as new (np: number, options: object) => JobQueueManager;
    const inAllocation = this.layout === 'allocation' ? { inAllocation: true } : {};
    let derived: JobQueueManager | undefined;
    try {
      derived = new Same(count, { ...(this.#given.options ?? {}), ...inAllocation, replaceBeforeWalltime: false });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
    }
    if (derived?.submittedWorkers !== count || derived.name !== this.name) {
      throw new UsageError(`${this.name}: ${this.constructor.name} does not take (np, options); override withWorkers(count) to make a manager of ${count} workers`, 'manager');
    }
    return derived;
  }

  /**
   * Cancel up to `count` workers of launch `launchId` still waiting in the queue: array tasks
   * that have not started (newest first), or a whole job none of whose workers has started.
   * Processes (in an allocation, or a driver without a queue) start at once: nothing to cancel.
   * @returns how many workers were cancelled
   */
  async cancelPending(launchId: string, count: number): Promise<number> {
    return this.#live.cancelPending(launchId, count);
  }

  /**
   * What a launch still waits for, for the launch-timeout error: each of its jobs with the
   * scheduler's last state and reason (`slurm job 4711: PENDING (Resources)`), or its commands.
   */
  describePending(launchId: string): string | undefined {
    return this.#live.describePending(launchId);
  }

  async explainLoss(worker: WorkerConfig): Promise<string | undefined> {
    const launch = this.#live.processLaunchOf(worker);
    if (launch) return launch.explain(worker, EXPLAIN_WAIT_MS);
    const submission = this.#live.submissionOf(worker);
    if (!submission) return undefined;
    return explainJobEnd(this.name, submission, worker, this.#watcher);
  }

  /**
   * Cancel the jobs (and stop the commands) of one failed launch (`launchId`), or of every
   * launch on `close` — after which the manager takes no more launches. Resolves once the
   * cancel commands have finished (also those an abort started), and the launch's secret
   * file is removed.
   */
  async shutdown(_reason: string, launchId?: string): Promise<void> {
    await this.#live.shutdown(launchId);
  }
}
