/**
 * The batch-scheduler machinery every driver shares (design decisions 7–9).
 * @module
 */
export { JobQueueManager, type JobQueueManagerSpec } from './manager.js';
export {
  isEnded,
  classifyStatus,
  describeEnd,
  type SchedulerDriver,
  type LayoutDeclaration,
  type AllocationDeclaration,
  type JobLayout,
  type JobStateKind,
  type JobStatus,
  type RawJobStatus,
  type CommandOutput,
  type Argv,
  type Flag,
  type FlagValue,
} from './driver.js';
export { SchedulerError, schedulerSaid, type SchedulerErrorDetails } from './errors.js';
export { jobQueueOptionsSchema, flagValueSchema, resolveOptions, type JobQueueOptions, type ResolvedJobQueueOptions, type ResolvedOptions } from './options.js';
export { siteConfigFiles, siteDefaultLayers, mergeLayers, canonicalize, SITE_CONFIG_ENV, GENERIC_SECTION, type OptionLayer } from './config.js';
export { canonicalKey, kebabCase, optionFlag, optionFlags, parseWalltime } from './flags.js';
export { renderJobScript, logPaths, type JobScriptInput } from './script.js';
export { runSchedulerCommand, runSchedulerCommandSync, submitJob, type RunOptions, type SubmitOptions } from './command.js';
export { JobWatcher, type JobListener } from './watcher.js';
export { ProgressLine, describeProgress, type ProgressMode } from './progress.js';
export { onInterrupt, interruptHandlersInstalled, type InterruptCleanup } from './interrupt.js';
