/**
 * What a driver package passes to {@link JobQueueManager}'s constructor besides the user's
 * options: its declaration (or how to choose it from settings), its option names, settings
 * and spellings.
 * @module
 */
import type { z } from 'zod';
import type { FlagValue, ProcessDriver, SchedulerDriver } from './driver.js';
import type { CommandRunner } from './runner.js';

/** A driver, or how to choose one once the driver's settings are resolved (PBS Pro or Torque by `dialect`). */
export type DriverChoice = SchedulerDriver | ProcessDriver | ((settings: Record<string, unknown>, runner: CommandRunner) => SchedulerDriver | ProcessDriver);

/** What a driver package passes to `JobQueueManager`'s constructor besides the user's options. */
export interface JobQueueManagerSpec {
  /** The driver's declaration, or a function choosing it from the resolved settings. */
  driver: DriverChoice;
  /** The driver's name (its config section, `CM_<NAME>_*` variables); needed when `driver` is a function. */
  name?: string;
  /** The driver's typed options (each a scheduler flag). */
  flagSchema: z.ZodObject;
  /**
   * Every option name the scheduler's submit command takes (camelCase, one-letter names as
   * they are), from its man page: other keys are refused with the closest name.
   */
  flagNames: readonly string[];
  /** Settings that are not flags (validated, read from site defaults, given to `driver` when it is a function). */
  settingsSchema?: z.ZodObject;
  /** Short spellings of options (`p` → `partition`, `sbatchFlags` → `submitFlags`), so site defaults and code meet under one key. */
  aliases?: Readonly<Record<string, string>>;
  /**
   * How many of a launch's `np` workers the scheduler runs at once, when the options or
   * settings limit it (LSF `-J "cm[1-N]%K"`, Slurm `--array=…%K`, Grid Engine `-tc K`). Below
   * `np`, `addprocs` resolves once that many joined, and the rest join later, as slots free
   * (a worker removed, a walltime reached): a pool the scheduler keeps filled.
   */
  runningLimit?(settings: Readonly<Record<string, unknown>>, options: Readonly<Record<string, FlagValue>>, np: number): number | undefined;
  /** Environment to read site defaults and allocation variables from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}
