/**
 * JobQueueManager: the ClusterManager every batch driver extends. The driver declares what is
 * specific to its scheduler ({@link SchedulerDriver}); this class renders the job script,
 * submits it once per `addprocs` with retry, watches the jobs, reports progress, fails fast,
 * explains lost workers and cancels every job it submitted when they are no longer needed.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import type { ListenRequest } from '../cluster/listener.js';
import { UsageError } from '../errors.js';
import type { ClusterManager, LaunchContext, WorkerConfig, WorkerEvent } from '../manager/types.js';
import { backoffDelays, sleep } from '../util/backoff.js';
import { workerEntryPath } from '../worker/entry.js';
import { AllocationStep } from './allocation.js';
import { runSchedulerCommand, runSchedulerCommandSync, submitJob } from './command.js';
import { type FlagValue, type JobLayout, type SchedulerDriver, describeEnd, isEnded } from './driver.js';
import { SchedulerError } from './errors.js';
import { onInterrupt } from './interrupt.js';
import { type ResolvedJobQueueOptions, resolveOptions } from './options.js';
import { ProgressLine } from './progress.js';
import { logPaths, renderJobScript } from './script.js';
import { Submission } from './submission.js';
import { JobWatcher } from './watcher.js';

/** Longest `explainLoss` waits for the scheduler to record why a job ended (the Cluster allows 1 s). */
const EXPLAIN_WAIT_MS = 800;
const DEFAULT_REPLACE_LEAD_MS = 600_000;
const CANCEL_RETRIES = 3;
/** The launch id shown in `jobScript()` previews; a real launch has its own. */
const PREVIEW_LAUNCH_ID = 'L000000000000';

/** What a driver package passes to {@link JobQueueManager}'s constructor besides the user's options. */
export interface JobQueueManagerSpec {
  driver: SchedulerDriver;
  /** The driver's typed options (each a scheduler flag); keys not in it are flags too. */
  flagSchema: z.ZodObject;
  /** Short spellings of options (`p` → `partition`), so site defaults and code meet under one key. */
  aliases?: Readonly<Record<string, string>>;
  /** Environment to read site defaults and allocation variables from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * A ClusterManager that starts workers through a batch scheduler. Extend it with a driver
 * declaration; packages/slurm is an example, and docs/batch-schedulers.md describes the machinery.
 */
export abstract class JobQueueManager implements ClusterManager {
  readonly name: string;
  readonly expectedWorkers: number;
  /** Workers run on compute nodes: the master listens on a routable address unless `host` says otherwise. */
  readonly needsRoutableAddress = true;
  readonly listen: ListenRequest | undefined;
  readonly defaultLaunchTimeoutMs: number;
  readonly acceptsLateWorkers: boolean;
  /** `'array'`, `'tasks'`, or `'allocation'` (workers started inside the master's own allocation). */
  readonly layout: JobLayout | 'allocation';
  /** The scheduler's declaration. */
  readonly driver: SchedulerDriver;
  /** The generic options after site defaults and validation. */
  protected readonly options: ResolvedJobQueueOptions;
  /** The scheduler flags after site defaults and validation, canonical keys. */
  protected readonly flags: Readonly<Record<string, FlagValue>>;
  /** Where each option came from (`code`, a config file, an environment variable). */
  protected readonly optionSources: Readonly<Record<string, string>>;
  readonly #watcher: JobWatcher;
  readonly #submissions = new Set<Submission>();
  readonly #steps = new Set<AllocationStep>();
  readonly #walltimeSeconds: number | undefined;
  #untrap: (() => void) | undefined;
  #shutDown = false;

  /** @throws UsageError naming the invalid option and where it was set (code, config file, environment variable) */
  protected constructor(np: number | undefined, options: Readonly<Record<string, unknown>> | undefined, spec: JobQueueManagerSpec) {
    const { driver } = spec;
    const env = spec.env ?? process.env;
    this.driver = driver;
    this.name = driver.name;
    const resolved = resolveOptions(driver.name, spec.flagSchema, options ?? {}, spec.aliases, env);
    this.options = resolved.generic;
    this.flags = resolved.flags;
    this.optionSources = resolved.sources;
    const allocation = driver.allocation?.detect(env);
    const inAllocation = this.options.inAllocation ?? (np === undefined && allocation !== undefined);
    if (inAllocation && !allocation) {
      throw new UsageError(`${driver.name}: \`inAllocation\` needs the master to run inside a ${driver.name} allocation, and this process is not in one; start it under the scheduler, or leave \`inAllocation\` out to submit a job`, 'inAllocation');
    }
    const count = np ?? (inAllocation ? allocation?.tasks : undefined);
    if (count === undefined || !Number.isInteger(count) || count < 1) {
      throw new UsageError(`${driver.name}: the number of workers must be a whole number >= 1, got ${String(np)}${driver.allocation ? ' (it may be left out only inside an allocation)' : ''}`, 'np');
    }
    this.expectedWorkers = count;
    const layouts = Object.keys(driver.layouts) as JobLayout[];
    this.layout = inAllocation ? 'allocation' : (this.options.layout ?? layouts[0]!);
    if (this.layout !== 'allocation' && !driver.layouts[this.layout]) {
      throw new UsageError(`${driver.name} does not support layout '${this.layout}'; use one of: ${layouts.join(', ')}`, 'layout');
    }
    const problem = driver.check?.(this.flags, count, this.layout === 'allocation' ? 'tasks' : this.layout);
    if (problem) throw new UsageError(`invalid ${driver.name} options: ${problem}`);
    this.#walltimeSeconds = driver.walltimeSeconds?.(this.flags);
    const lead = this.#replaceLeadMs();
    if (lead !== undefined && (this.#walltimeSeconds === undefined || lead >= this.#walltimeSeconds * 1000)) {
      throw new UsageError(`${driver.name}: \`replaceBeforeWalltime\` (${lead} ms ahead) needs a walltime option longer than that${this.#walltimeSeconds ? ` (it is ${this.#walltimeSeconds} s)` : ''}`, 'replaceBeforeWalltime');
    }
    this.acceptsLateWorkers = lead !== undefined;
    this.defaultLaunchTimeoutMs = this.options.launchTimeoutMs;
    const { host, port, advertiseHost } = this.options;
    this.listen = host !== undefined || port !== undefined || advertiseHost !== undefined ? { host, port, advertiseHost } : undefined;
    this.#watcher = JobWatcher.for(driver);
  }

  /** Directory of job scripts and job logs. */
  get logDir(): string {
    return path.resolve(this.options.logDir ?? path.join(os.homedir(), '.cm', 'logs'));
  }

  /**
   * The job script one `addprocs` would submit, without submitting anything. Its launch id is a
   * placeholder (`L000000000000`); a real launch has its own.
   */
  jobScript(): string {
    return this.#render(PREVIEW_LAUNCH_ID, [process.execPath, workerEntryPath()]);
  }

  /** Ids of the jobs this manager submitted that may still be queued or running. */
  jobIds(): string[] {
    return [...this.#submissions].filter((s) => !s.gone).map((s) => s.jobId);
  }

  #render(launchId: string, worker: readonly string[]): string {
    if (this.layout === 'allocation') throw new UsageError(`${this.name}: in-allocation mode submits no job script`);
    const [node, ...rest] = worker;
    return renderJobScript({
      driver: this.driver,
      layout: this.layout,
      np: this.expectedWorkers,
      launchId,
      jobName: this.options.jobName,
      logDir: this.logDir,
      optionFlags: this.driver.optionFlags(this.flags),
      worker: [node!, ...this.options.nodeArgs, ...rest],
      env: this.options.env,
      prologue: this.options.prologue,
      walltimeSeconds: this.#walltimeSeconds,
    });
  }

  async launch(context: LaunchContext): Promise<void> {
    if (this.#shutDown) throw new UsageError(`${this.name} manager was shut down; create a new one for another addprocs`);
    if (this.layout === 'allocation') return this.#launchInAllocation(context);
    const scriptPath = path.join(this.logDir, `${this.options.jobName}-${context.launchId}.sh`);
    await mkdir(this.logDir, { recursive: true });
    await writeFile(scriptPath, this.#render(context.launchId, [context.workerCommand.file, ...context.workerCommand.args]), { mode: 0o644 });
    await this.#submit(context, scriptPath, undefined);
  }

  async #submit(context: LaunchContext, scriptPath: string, replaces: string | undefined): Promise<void> {
    const retryDelays = this.options.submitRetryDelays ?? [...take(backoffDelays({ initialMs: 1_000, maxMs: 16_000, jitter: 0.1 }), 5)];
    const progress = new ProgressLine(this.options.progress);
    const jobId = await submitJob(this.driver, scriptPath, {
      env: context.workerEnv,
      retryDelays,
      expected: this.expectedWorkers,
      signal: replaces ? undefined : context.signal,
      onRetry: (attempt, delay, said) => {
        const message = `${this.name}: submission attempt ${attempt} failed (${said}); retrying in ${Math.round(delay / 100) / 10} s`;
        progress.update(message);
        context.progress({ message });
      },
    });
    const layout = this.layout as JobLayout;
    const submission = new Submission({
      driver: this.driver,
      watcher: this.#watcher,
      context,
      jobId,
      np: this.expectedWorkers,
      layout,
      scriptPath,
      replaces,
      progress,
      poll: this.options,
      stderrPath: (taskIndex) => logPaths({ driver: this.driver, layout, launchId: context.launchId, jobName: this.options.jobName, logDir: this.logDir }, { jobId, taskIndex }).stderr,
      onGone: () => this.#updateTrap(),
    });
    this.#submissions.add(submission);
    this.#updateTrap();
    if (!replaces) context.signal.addEventListener('abort', () => void this.#cancel([submission]), { once: true });
    if (this.#shutDown || (!replaces && context.signal.aborted)) await this.#cancel([submission]);
  }

  async #launchInAllocation(context: LaunchContext): Promise<void> {
    const declaration = this.driver.allocation!;
    const worker = [context.workerCommand.file, ...this.options.nodeArgs, ...context.workerCommand.args];
    // Site defaults (partition, account, walltime) are for submissions: the allocation has settled them.
    const fromCode = Object.fromEntries(Object.entries(this.flags).filter(([key]) => this.optionSources[key] === 'code'));
    const argv = declaration.command(this.expectedWorkers, this.driver.optionFlags(fromCode), worker);
    const step = new AllocationStep(this.name, declaration, argv, context, { env: this.options.env, expected: this.expectedWorkers });
    this.#steps.add(step);
    void step.exited.then(() => this.#updateTrap());
    this.#updateTrap();
    context.progress({ message: `${this.name}: started ${this.expectedWorkers} workers in the current allocation` });
  }

  #submissionOf(worker: WorkerConfig): Submission | undefined {
    const ofLaunch = [...this.#submissions].filter((s) => s.context.launchId === worker.launchId);
    return ofLaunch.find((s) => s.owns(worker)) ?? (ofLaunch.length === 1 ? ofLaunch[0] : undefined);
  }

  manage(worker: WorkerConfig, event: WorkerEvent): void {
    const submission = this.#submissionOf(worker);
    if (!submission) return;
    if (event === 'joined') {
      submission.workerJoined(worker);
      this.#scheduleReplacement(submission, worker);
      return;
    }
    const unit = submission.workerLeft(worker);
    if (unit !== undefined && !submission.gone) {
      // Its last worker is gone: make sure the job (or array task) does not linger in the queue.
      const whole = unit === submission.jobId;
      this.#cancelIds([unit]).then(
        () => whole && submission.markGone(),
        (error: Error) => submission.context.progress({ message: error.message }),
      );
    }
  }

  async explainLoss(worker: WorkerConfig): Promise<string | undefined> {
    const submission = this.#submissionOf(worker);
    if (!submission) return this.#explainStepLoss();
    const deadline = Date.now() + EXPLAIN_WAIT_MS;
    for (;;) {
      if (!submission.gone) await this.#watcher.refresh();
      const status = submission.statusOf(worker);
      if (status && isEnded(status.kind)) return describeEnd(this.name, submission.unitOf(worker), status);
      if (submission.gone || Date.now() >= deadline) return undefined;
      await sleep(100);
    }
  }

  /** In an allocation, workers leave together when their step ends: say how it ended. */
  async #explainStepLoss(): Promise<string | undefined> {
    const steps = [...this.#steps];
    if (steps.length === 0) return undefined;
    await Promise.race([Promise.all(steps.map((step) => step.exited)), sleep(EXPLAIN_WAIT_MS)]);
    const ended = steps.find((step) => step.exit !== undefined);
    return ended ? `the ${this.name} step that ran it ${ended.exit}` : undefined;
  }

  /**
   * Cancel the jobs (and stop the in-allocation steps) of one failed launch (`launchId`), or of
   * every launch on `close` — after which the manager takes no more launches.
   */
  async shutdown(_reason: string, launchId?: string): Promise<void> {
    if (launchId === undefined) this.#shutDown = true;
    const ofLaunch = (id: string) => launchId === undefined || id === launchId;
    const live = [...this.#submissions].filter((s) => !s.gone && ofLaunch(s.context.launchId));
    const steps = [...this.#steps].filter((step) => ofLaunch(step.launchId));
    await Promise.all([this.#cancel(live), ...steps.map((step) => step.stop())]);
    this.#updateTrap();
  }

  async #cancel(submissions: readonly Submission[]): Promise<void> {
    const live = submissions.filter((s) => !s.gone);
    if (live.length === 0) return;
    for (const submission of live) submission.markGone();
    await this.#cancelIds(live.map((s) => s.jobId));
  }

  /** Cancel jobs, retrying a failing cancel command a few times (a busy controller must not leave them queued). */
  async #cancelIds(ids: readonly string[]): Promise<void> {
    const argv = this.driver.cancel.command(ids);
    const delays = [...take(backoffDelays({ initialMs: 500, maxMs: 4_000 }), CANCEL_RETRIES)];
    for (let attempt = 0; ; attempt++) {
      const output = await runSchedulerCommand(this.name, argv);
      if (output.exitCode === 0) return;
      const delay = delays[attempt];
      if (delay === undefined) {
        throw new SchedulerError(`${argv[0]} could not cancel ${ids.join(', ')}`, { ...output, scheduler: this.name, command: argv, attempts: attempt + 1, hint: `cancel them by hand (\`${argv.join(' ')}\`)` });
      }
      await sleep(delay);
    }
  }

  /** Keep interrupt handlers installed exactly while this manager has jobs or steps that may be live. */
  #updateTrap(): void {
    const live = [...this.#submissions].some((s) => !s.gone) || [...this.#steps].some((step) => step.exit === undefined);
    if (live && !this.#untrap) {
      this.#untrap = onInterrupt(() => this.#cancelAllSync());
    } else if (!live && this.#untrap) {
      this.#untrap();
      this.#untrap = undefined;
    }
  }

  #cancelAllSync(): void {
    for (const step of this.#steps) step.stopSync();
    const ids = [...this.#submissions].filter((s) => !s.gone).map((s) => s.jobId);
    if (ids.length > 0) runSchedulerCommandSync(this.name, this.driver.cancel.command(ids), { timeoutMs: 15_000 });
    this.#untrap = undefined;
  }

  #replaceLeadMs(): number | undefined {
    const option = this.options.replaceBeforeWalltime;
    return option === false ? undefined : option === true ? DEFAULT_REPLACE_LEAD_MS : option;
  }

  /** With `replaceBeforeWalltime`, submit the same job again shortly before this one's walltime ends. */
  #scheduleReplacement(submission: Submission, worker: WorkerConfig): void {
    const lead = this.#replaceLeadMs();
    if (lead === undefined || worker.endsAt === null || submission.replacementTimer) return;
    const delay = Math.max(0, worker.endsAt - lead - Date.now());
    submission.replacementTimer = setTimeout(() => {
      if (this.#shutDown || submission.gone) return;
      this.#submit(submission.context, submission.scriptPath, submission.jobId).catch((error: Error) => {
        submission.context.progress({ message: `${this.name}: could not submit a replacement for job ${submission.jobId}: ${error.message}` });
      });
    }, delay).unref();
  }
}

function* take<T>(source: Iterator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) yield source.next().value as T;
}
