/**
 * Cluster options, validated with zod (exported so tools can reuse the schema).
 * @module
 */
import { z } from 'zod';
import { MAX_TIMER_MS } from '../util/keep-alive.js';
import type { Logger } from '../util/logger.js';

/**
 * A duration a timer will wait. Node clamps anything over 2^31 − 1 ms to 1 ms (with only a
 * warning), which would turn "practically never" into "at once".
 */
const timerMs = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days): Node.js timers cannot wait longer`);

const portSchema = z.number().int().min(0).max(65535);

export const clusterOptionsSchema = z
  .object({
    /**
     * Interface to listen on. Default: loopback for local workers; all interfaces (advertising
     * the machine's routable address) once a manager starts workers on other machines.
     */
    host: z.string().min(1).optional(),
    /** Listen on this network interface's address (`ib0` for InfiniBand, `eth1`…) instead of giving `host`. */
    interface: z.string().min(1).optional(),
    /** Address workers dial, when it differs from `host` (NAT, a specific interface name…). */
    advertiseHost: z.string().min(1).optional(),
    /** Port, or inclusive `[first, last]` range tried in order. 0 lets the OS pick. */
    port: z.union([portSchema, z.tuple([portSchema, portSchema]).refine(([a, b]) => a <= b, 'range must be [low, high]')]).default(0),
    /** Cluster secret (base64url, at least 32 bytes when decoded); a fresh random one when absent. */
    secret: z
      .string()
      .refine((s) => Buffer.from(s, 'base64url').length >= 32, 'must be base64url of at least 32 random bytes (e.g. crypto.randomBytes(32).toString("base64url"))')
      .optional(),
    /**
     * Encrypt worker connections with TLS 1.2 and a pre-shared key derived from the secret
     * (TLS-PSK). Off by default: on loopback and cluster interconnects it costs a fifth of
     * bulk throughput (see the README's Performance section); turn it on when workers
     * connect over networks you do not trust. Authentication is mutual either way.
     */
    encrypt: z.boolean().default(false),
    heartbeat: z
      .object({
        /**
         * How often each side sends a heartbeat when it has sent nothing else, ms. Killed
         * workers are noticed at once (their connection closes); heartbeats catch frozen or
         * unreachable hosts, so a few seconds is plenty — and at thousands of workers every
         * heartbeat is a system call on the master.
         */
        intervalMs: timerMs(10).default(5_000),
        /** Silence after which the other side counts as gone, ms. */
        timeoutMs: timerMs(50).default(30_000),
      })
      .default({ intervalMs: 5_000, timeoutMs: 30_000 })
      .refine((h) => h.timeoutMs > h.intervalMs, 'timeoutMs must be larger than intervalMs'),
    /** Largest frame accepted from an authenticated worker, bytes. */
    maxFrameBytes: z.number().int().min(1024).max(0xffff_ffff).default(2 ** 31),
    /** Time a worker has to exit after `rmprocs` before its manager kills it, ms. */
    shutdownGraceMs: timerMs(0).default(5_000),
    /** Where worker output goes. Default: `From worker N: …` on the master's stdout/stderr. */
    onOutput: z.custom<(workerId: number, stream: 'stdout' | 'stderr', line: string) => void>((v) => typeof v === 'function', 'must be a function').optional(),
    /** Where the cluster's own warnings go (rejected peers, lost workers). */
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).warn === 'function', 'must have debug/info/warn/error methods').optional(),
  })
  .strict();

export type ClusterOptions = z.input<typeof clusterOptionsSchema>;
export type ResolvedClusterOptions = z.output<typeof clusterOptionsSchema>;

export const addprocsOptionsSchema = z
  .object({
    /** Give up (and stop what was started) after this many ms. Default: the manager's, else 120 s. */
    timeoutMs: timerMs(1).optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  })
  .strict();
export type AddprocsOptions = z.input<typeof addprocsOptionsSchema>;

export const pmapOptionsSchema = z
  .object({
    /** Items per message: 'auto' adapts to how long items take; a number fixes it. */
    batchSize: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
    retry: z
      .object({
        /** Extra attempts for an item whose function threw (user errors). */
        errors: z.number().int().min(0).default(0),
        /** Extra attempts for an item whose worker was lost under it (infrastructure failures). */
        lostWorkers: z.number().int().min(0).default(3),
      })
      .default({ errors: 0, lostWorkers: 3 }),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
    /** Only use these workers (default: all, including workers that join during the map). */
    workers: z.array(z.number().int()).optional(),
    /** Stop giving new items to a worker whose job ends within this many ms (walltime). */
    walltimeMarginMs: z.number().int().min(0).default(60_000),
  })
  .strict();
export type PmapOptions = z.input<typeof pmapOptionsSchema>;
export type ResolvedPmapOptions = z.output<typeof pmapOptionsSchema>;
