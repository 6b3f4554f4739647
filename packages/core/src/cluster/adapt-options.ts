/**
 * The options of `cluster.adapt` (validated with zod before anything starts) and the shapes of
 * the events an adaptive pool emits. The decisions behind the defaults are in docs/adaptive.md.
 * @module
 */
import { z } from 'zod';

/** Longest a timer can wait in Node.js: a launch with no timeout waits this long. */
export const NO_TIMEOUT_MS = 2 ** 31 - 1;

export const adaptOptionsSchema = z
  .object({
    minimum: z.number().int().min(0).default(0),
    maximum: z.number().int().min(1).max(100_000).optional(),
    idleTimeoutMs: z.number().int().min(0).default(60_000),
    itemsPerWorker: z.number().positive().default(1),
    maxLaunchesPerMinute: z.number().int().positive().default(6),
    maxLaunchFailures: z.number().int().positive().default(3),
    walltimeLeadMs: z.number().int().min(0).optional(),
    launchTimeoutMs: z.number().int().positive().max(NO_TIMEOUT_MS).optional(),
    intervalMs: z.number().int().min(10).max(60_000).default(500),
    progress: z.union([z.boolean(), z.enum(['auto', 'tty', 'plain', 'none'])]).default(false),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .strict();

/** Options of {@link Cluster.adapt}. */
export interface AdaptOptions {
  /** Workers kept even with no work (default 0: an idle program holds no nodes). */
  minimum?: number | undefined;
  /** Workers never exceeded, pending ones included (default: the manager's own worker count). */
  maximum?: number | undefined;
  /**
   * How long a worker must stay idle (no call running or queued for it) before it is retired,
   * and how long demand must stay below what is queued before queued jobs are cancelled.
   * Default 60 000 ms. This delay is the hysteresis that stops submit/cancel loops.
   */
  idleTimeoutMs?: number | undefined;
  /** Items (pmap/imap items and calls) one worker is expected to take: the pool aims at demand ÷ this. Default 1. */
  itemsPerWorker?: number | undefined;
  /** Launches (submissions) at most per rolling minute; growth waits when the bound is reached. Default 6. */
  maxLaunchesPerMinute?: number | undefined;
  /** Launches that fail before their workers join, in a row, before adaptation pauses with an error event. Default 3. */
  maxLaunchFailures?: number | undefined;
  /**
   * A worker whose job ends (walltime) within this many ms no longer counts as capacity: a
   * replacement is launched while work remains, and it is retired once idle. Default: the
   * manager's `replaceBeforeWalltime` lead when it has one, else 120 000 ms.
   */
  walltimeLeadMs?: number | undefined;
  /** Give up on a launch whose workers have not all joined after this many ms (default: never; queued jobs are counted as coming). */
  launchTimeoutMs?: number | undefined;
  /** How often the pool looks at demand, ms (default 500). */
  intervalMs?: number | undefined;
  /** A progress line on stderr: `true`/`'auto'` (live on a terminal), `'plain'`, `'tty'`, or `false`/`'none'` (default). */
  progress?: boolean | 'auto' | 'tty' | 'plain' | 'none' | undefined;
  /** Stops the pool (as `stop()`) when aborted. */
  signal?: AbortSignal | undefined;
}

export type ResolvedAdaptOptions = z.output<typeof adaptOptionsSchema>;

/** The figures every adapt event carries. */
export interface AdaptFigures {
  /** Items waiting or running in maps, plus plain calls in flight. */
  demand: number;
  /** Workers of the pool that count as capacity (joined, not near their walltime). */
  workers: number;
  /** Workers of the pool near their walltime, retired once idle. */
  ending: number;
  /** Workers launched and not joined yet (queued jobs count here). */
  pending: number;
  /** Workers the pool aims at: demand ÷ itemsPerWorker, within minimum and maximum. */
  target: number;
}

/** Why the pool grew. */
export type ScaleUpReason = 'demand' | 'minimum' | 'walltime';

/** Events of an {@link AdaptHandle}. */
export interface AdaptEvents {
  /** One launch of `launched` workers (one submission for a batch scheduler). */
  'scale-up': [event: AdaptFigures & { reason: ScaleUpReason; launched: number }];
  /** Queued workers cancelled before they started: the work they were for is gone. */
  'scale-down': [event: AdaptFigures & { reason: 'demand-gone'; cancelled: number }];
  /** An idle worker retired (removed; its job or array task ends). */
  retire: [event: AdaptFigures & { reason: 'idle' | 'walltime'; workerId: number; idleMs: number }];
  /** A launch failed before all its workers joined (counted towards `maxLaunchFailures`). */
  'launch-failed': [event: AdaptFigures & { error: Error; failures: number }];
  /** Growth stopped until `resume()`: a submission was refused, or too many launches failed. Workers keep working. */
  paused: [event: AdaptFigures & { reason: 'submission-refused' | 'launch-failures'; error: Error; message: string }];
  /** The pool stopped (`stop()`, its signal, or the cluster closed). */
  stopped: [];
}
