/**
 * LocalManager's options, documented for editors; `localManagerOptionsSchema` validates them.
 * A type check keeps the interface and the schema the same set of options.
 * @module
 */
import type { z } from 'zod';
import type { localManagerOptionsSchema } from './local-manager.js';

/** Options of `new LocalManager(options)` (or pass just the number of workers). */
export interface LocalManagerOptions {
  /**
   * Number of workers to start, at most 1024 (each is a Node.js process).
   * @defaultValue the number of CPUs (`os.availableParallelism()`)
   */
  np?: number | undefined;
  /**
   * Extra environment variables for the workers (added to the master's environment).
   * @defaultValue {}
   */
  env?: Record<string, string> | undefined;
  /**
   * Working directory of the workers; it must exist.
   * @defaultValue the master's working directory
   */
  cwd?: string | undefined;
  /**
   * Node.js flags for the workers, e.g. `['--max-old-space-size=4096']`.
   * @defaultValue []
   */
  nodeArgs?: string[] | undefined;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time: the interface takes exactly what the schema accepts. */
export const LOCAL_MANAGER_OPTIONS_MATCH_SCHEMA: [
  Same<LocalManagerOptions, z.input<typeof localManagerOptionsSchema>>,
  Same<keyof LocalManagerOptions, keyof z.input<typeof localManagerOptionsSchema>>,
] = [true, true];
