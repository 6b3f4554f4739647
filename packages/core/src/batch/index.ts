/**
 * The batch-scheduler machinery every driver shares (design decisions 7–9).
 * @module
 */
export { JobQueueManager } from './manager.js';
export type { JobQueueManagerSpec, DriverChoice } from './spec.js';
export { JobCanceller } from './cancel.js';
export {
  isEnded,
  isInQueue,
  isQueueDriver,
  classifyStatus,
  describeEnd,
  type SchedulerDriver,
  type ProcessDriver,
  type LayoutDeclaration,
  type LayoutContext,
  type AllocationDeclaration,
  type ProcessLaunchDeclaration,
  type RenderInput,
  type JobLayout,
  type JobStateKind,
  type JobStatus,
  type RawJobStatus,
  type CommandOutput,
  type Argv,
  type Flag,
  type FlagStyle,
  type FlagValue,
} from './driver.js';
export { SchedulerError, isSchedulerError, schedulerSaid, type SchedulerErrorDetails } from './errors.js';
export { jobQueueOptionsSchema, flagValueSchema, resolveOptions, type OptionDeclaration, type JobQueueOptions, type ResolvedJobQueueOptions, type ResolvedOptions } from './options.js';
export { siteConfigFiles, siteDefaultLayers, mergeLayers, canonicalize, registerDriverName, SITE_CONFIG_ENV, GENERIC_SECTION, type OptionLayer } from './config.js';
export { canonicalKey, kebabCase, snakeCase, optionFlag, optionFlags } from './flags.js';
export { renderJobScript, renderJob, renderBody, logPaths, launchFiles, type JobScriptInput, type RenderedJob } from './script.js';
export { submitJob, type SubmitOptions } from './command.js';
export { localRunner, sshRunner, lastLines, type CommandRunner, type RunOptions } from './runner.js';
export { JobWatcher, type JobListener } from './watcher.js';
export { ProcessLaunch, type ProcessLaunchInit } from './process-launch.js';
export { ProgressLine, describeProgress, type ProgressMode } from './progress.js';
export { onInterrupt, interruptHandlersInstalled, type InterruptCleanup } from './interrupt.js';
