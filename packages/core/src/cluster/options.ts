/**
 * Options of the Cluster and its calls: zod schemas that validate them (exported so tools can
 * reuse them), and the documented interfaces an editor shows on hover. A type check at the
 * bottom keeps each interface and its schema the same set of options.
 * @module
 */
import { z } from 'zod';
import { portSchema } from '../util/schemas.js';
import { giveUpOptionsSchema, timerMs } from '../util/give-up.js';
import { LOG_LEVELS, type LogLevel, type Logger } from '../util/logger.js';

/**
 * A duration a timer will wait. Node clamps anything over 2^31 − 1 ms to 1 ms (with only a
 * warning), which would turn "practically never" into "at once".
 */
export { timerMs };

const signalSchema = z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal');

export const clusterOptionsSchema = z
  .object({
    host: z.string().min(1).optional(),
    interface: z.string().min(1).optional(),
    advertiseHost: z.string().min(1).optional(),
    port: z.union([portSchema, z.tuple([portSchema, portSchema]).refine(([a, b]) => a <= b, 'range must be [low, high]')]).default(0),
    secret: z
      .string()
      .refine((s) => Buffer.from(s, 'base64url').length >= 32, 'must be base64url of at least 32 random bytes (e.g. crypto.randomBytes(32).toString("base64url"))')
      .optional(),
    encrypt: z.boolean().default(false),
    topology: z.enum(['master', 'all_to_all']).default('master'),
    heartbeat: z
      .object({
        intervalMs: timerMs(10).default(5_000),
        timeoutMs: timerMs(50).default(30_000),
        maxPerSecond: z.number().positive().max(1e9).default(1_000),
      })
      .strict()
      .default({ intervalMs: 5_000, timeoutMs: 30_000, maxPerSecond: 1_000 })
      .refine((h) => h.timeoutMs > h.intervalMs, 'timeoutMs must be larger than intervalMs'),
    maxFrameBytes: z
      .number()
      .int()
      .min(1024)
      .max(0xffff_ffff)
      .default(2 ** 31),
    shutdownGraceMs: timerMs(0).default(5_000),
    onOutput: z.custom<(workerId: number, stream: 'stdout' | 'stderr', line: string) => void>((v) => typeof v === 'function', 'must be a function').optional(),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).warn === 'function', 'must have debug/info/warn/error methods').optional(),
    logLevel: z.enum(LOG_LEVELS).optional(),
  })
  .strict();

/** How often the master and its workers check on each other. */
export interface HeartbeatOptions {
  /**
   * How often each side sends a heartbeat when it has sent nothing else, in milliseconds.
   * Killed workers are noticed at once (their connection closes); heartbeats catch frozen or
   * unreachable hosts, so a few seconds is plenty, and at thousands of workers every
   * heartbeat is a system call on the master. At least 10. In a cluster larger than
   * `maxPerSecond` heartbeats per interval allow, the interval grows (see `maxPerSecond`).
   * @defaultValue 5000 (5 s)
   */
  intervalMs?: number | undefined;
  /**
   * Silence after which the other side counts as gone, in milliseconds: the master fails the
   * worker's calls with `WorkerLostError` and stops it; a worker exits. Must be larger than
   * `intervalMs`. Raise it for long synchronous computations, which block a worker's
   * heartbeats. Grows with the interval in a large cluster (see `maxPerSecond`).
   * @defaultValue 30000 (30 s)
   */
  timeoutMs?: number | undefined;
  /**
   * The most heartbeats per second the master takes from its workers together. In a cluster
   * of more than `maxPerSecond × intervalMs / 1000` workers (5,000 with the defaults), the
   * master multiplies every worker's interval and timeout by
   * `ceil(workers / (maxPerSecond × intervalMs / 1000))` (workers of protocol 1.4 and later;
   * older ones keep `intervalMs` and `timeoutMs`), so 20,000 workers heartbeat every 20 s and
   * a hung one is lost after 120 s. Raise it to notice hung workers sooner in a large cluster,
   * at about 10 µs of the master's CPU per heartbeat (and as many for its own to the worker).
   * @defaultValue 1000
   */
  maxPerSecond?: number | undefined;
}

/** Options of `new Cluster(options)`. Unknown names are refused, with the closest known name. */
export interface ClusterOptions {
  /**
   * Interface address to listen on, e.g. `'10.1.2.3'` or `'0.0.0.0'`.
   * @defaultValue loopback for local workers; all interfaces (advertising the machine's routable
   * address) once a manager starts workers on other machines
   */
  host?: string | undefined;
  /** Listen on this network interface's address instead of giving `host`: `'ib0'` for InfiniBand, `'eth1'`… */
  interface?: string | undefined;
  /**
   * Address workers dial, when it differs from the one listened on (NAT, a name the compute
   * nodes resolve).
   * @defaultValue the address listened on
   */
  advertiseHost?: string | undefined;
  /**
   * TCP port to listen on, or an inclusive `[first, last]` range tried in order (for a
   * firewall that opens a range). `0` lets the operating system pick a free port.
   * @defaultValue 0
   */
  port?: number | [number, number] | undefined;
  /**
   * The cluster secret workers authenticate with: base64url of at least 32 random bytes
   * (`crypto.randomBytes(32).toString('base64url')`). Give one only when workers are started
   * outside @cm and need to know it in advance.
   * @defaultValue a fresh random secret per cluster
   */
  secret?: string | undefined;
  /**
   * Encrypt worker connections with TLS 1.2 and a pre-shared key derived from the secret
   * (TLS-PSK). Authentication is mutual either way; encryption costs about a fifth of round-trip
   * latency and bulk throughput, so turn it on when workers connect over networks you do not trust.
   * @defaultValue false
   */
  encrypt?: boolean | undefined;
  /**
   * How calls a worker makes to another worker travel (docs/worker-calls.md):
   * - `'master'`: through the master, on the connection each worker already has. Compute
   *   nodes only need to reach the master.
   * - `'all_to_all'` (Julia's default topology): each worker also listens on a port of its
   *   own (an ephemeral port on the address it dialled the master from) and a worker calling
   *   another connects to it directly on the first call — authenticated with the cluster
   *   secret, encrypted when `encrypt` is on — and sends its calls there, sparing the master
   *   the bytes and a hop. A direct connection that cannot be made falls back to the master.
   *   Workers must be able to reach each other's ports. `pmap` from a worker still runs on
   *   the master's dispatcher.
   * @defaultValue 'master'
   */
  topology?: 'master' | 'all_to_all' | undefined;
  /**
   * Heartbeats: `{ intervalMs, timeoutMs }`.
   * @defaultValue `{ intervalMs: 5000, timeoutMs: 30000 }`
   */
  heartbeat?: HeartbeatOptions | undefined;
  /**
   * Largest frame (one call's arguments, one result) accepted from an authenticated worker,
   * in bytes; also the largest the master sends. At least 1024, at most 2^32 − 1.
   * @defaultValue 2147483648 (2 GiB)
   */
  maxFrameBytes?: number | undefined;
  /**
   * Time a worker has to exit after `rmprocs` or `close` before its manager kills it, in milliseconds.
   * @defaultValue 5000 (5 s)
   */
  shutdownGraceMs?: number | undefined;
  /**
   * Where worker output goes, one complete line at a time (the `output` event carries it too).
   * @defaultValue `From worker N: …` on the master's stdout or stderr, whichever the worker wrote to
   */
  onOutput?: ((workerId: number, stream: 'stdout' | 'stderr', line: string) => void) | undefined;
  /**
   * Where the cluster's own messages go (rejected peers, lost workers, launches…): any object
   * with `debug`, `info`, `warn` and `error` methods, such as `console` or a pino logger.
   * @defaultValue warnings and errors on stderr, prefixed `[cm]`
   */
  logger?: Logger | undefined;
  /**
   * How much reaches `logger`: `'debug'` (connections, handshakes, launches, heartbeats
   * missed), `'info'` (workers joining and leaving, launches done), `'warn'`, `'error'`, or
   * `'silent'`. Debug output can also be turned on without code: `NODE_DEBUG=cm` or `DEBUG=cm`.
   * @defaultValue `'info'` when you pass a `logger`, else `'warn'`
   */
  logLevel?: LogLevel | undefined;
}

export type ResolvedClusterOptions = z.output<typeof clusterOptionsSchema>;

export const addprocsOptionsSchema = z
  .object({
    timeoutMs: timerMs(1).optional(),
    signal: signalSchema.optional(),
  })
  .strict();

/** Options of `cluster.addprocs(manager, options)`. */
export interface AddprocsOptions {
  /**
   * Give up after this many milliseconds if not every worker has joined; everything the
   * launch started is then stopped and removed, and `addprocs` rejects with a LaunchError
   * naming the jobs and their last state.
   * @defaultValue the manager's `defaultLaunchTimeoutMs` (local: 60 s; batch schedulers: 15 min), else 120 s
   */
  timeoutMs?: number | undefined;
  /** Abort the launch: it is stopped and rolled back, and `addprocs` rejects with a LaunchError whose `cause` is the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** Progress of a `pmap`, as the `pmap-progress` event and the progress line report it. */
export interface PmapProgress {
  /** Items finished so far. */
  done: number;
  /** Items in the map. */
  total: number;
  /** Milliseconds since the map started. */
  elapsedMs: number;
  /** Workers taking part now. */
  workers: number;
}

export const pmapOptionsSchema = z
  .object({
    batchSize: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
    retry: z
      .object({
        errors: z.number().int().min(0).default(0),
        lostWorkers: z.number().int().min(0).default(3),
      })
      .strict()
      .default({ errors: 0, lostWorkers: 3 }),
    signal: signalSchema.optional(),
    workers: z.array(z.number().int()).optional(),
    walltimeMarginMs: z.number().int().min(0).default(60_000),
    progress: z.union([z.boolean(), z.enum(['auto', 'tty', 'plain', 'none'])]).default(false),
  })
  .strict();

/** How often pmap runs an item again. */
export interface PmapRetryOptions {
  /**
   * Extra attempts for an item whose function threw (user errors). After them, `pmap`
   * rejects with the item's RemoteError.
   * @defaultValue 0
   */
  errors?: number | undefined;
  /**
   * Extra attempts for an item whose worker was lost under it (infrastructure failures),
   * counted separately so one bad node does not use up the user-error budget.
   * @defaultValue 3
   */
  lostWorkers?: number | undefined;
}

/** Options of `cluster.pmap(fn, items, options)`. */
export interface PmapOptions {
  /**
   * Items per message to a worker: `'auto'` adapts to how long items take (about 5 ms of work
   * per message); a number fixes it.
   * @defaultValue 'auto'
   */
  batchSize?: 'auto' | number | undefined;
  /**
   * Retry budgets: `{ errors, lostWorkers }`.
   * @defaultValue `{ errors: 0, lostWorkers: 3 }`
   */
  retry?: PmapRetryOptions | undefined;
  /** Abort the map: it rejects with the signal's reason, and the batches in flight are cancelled on their workers. */
  signal?: AbortSignal | undefined;
  /**
   * Only use these worker ids.
   * @defaultValue all workers, including those that join during the map
   */
  workers?: number[] | undefined;
  /**
   * Stop giving new items to a worker whose job ends (walltime) within this many milliseconds.
   * @defaultValue 60000 (1 min)
   */
  walltimeMarginMs?: number | undefined;
  /**
   * Show progress: `true`/`'auto'` a live line on a terminal (plain lines when stderr is not
   * one), `'tty'` or `'plain'` to force either, `false`/`'none'` nothing. Programs listen to
   * the cluster's `pmap-progress` event instead, emitted whatever this says.
   * @defaultValue false
   */
  progress?: boolean | 'auto' | 'tty' | 'plain' | 'none' | undefined;
}

export type ResolvedPmapOptions = z.output<typeof pmapOptionsSchema>;

export const callOptionsSchema = giveUpOptionsSchema;

/**
 * Options of one remote call (`remotecall`, `remotecallFetch`, `remotecallWait`, `spawnAt`,
 * `everywhere`, `Future.fetch`/`wait`). Giving up rejects the call at once with the
 * signal's reason (a `TimeoutError` DOMException for `timeoutMs`), and tells the worker to
 * abandon it: the function's `currentSignal()` aborts with the same reason.
 */
export interface CallOptions {
  /** Give up on the call when this signal aborts. */
  signal?: AbortSignal | undefined;
  /**
   * Give up on the call after this many milliseconds (from when it is sent, or from the
   * `fetch` for `Future.fetch`).
   * @defaultValue no limit
   */
  timeoutMs?: number | undefined;
}

export const callTargetSchema = callOptionsSchema.extend({ worker: z.number().int() }).strict();

/** Where a call runs, with its options: `remotecall({ worker: 2, timeoutMs: 5000 }, fn, …)`. */
export interface CallTarget extends CallOptions {
  /** The worker's id. */
  worker: number;
}

export const spawnTargetSchema = callOptionsSchema.extend({ worker: z.union([z.number().int(), z.literal('any')]) }).strict();

/** Where `spawnAt` runs a call, with its options; `'any'` picks the least busy worker. */
export interface SpawnTarget extends CallOptions {
  /** The worker's id, or `'any'` for the least busy one. */
  worker: number | 'any';
}

/** Compile-time: each documented interface takes exactly what its schema accepts. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Keys<A, B> = Same<keyof A, keyof B>;
export const OPTION_TYPES_MATCH_SCHEMAS: [
  Same<ClusterOptions, z.input<typeof clusterOptionsSchema>>,
  Keys<ClusterOptions, z.input<typeof clusterOptionsSchema>>,
  Same<HeartbeatOptions, NonNullable<z.input<typeof clusterOptionsSchema>['heartbeat']>>,
  Same<AddprocsOptions, z.input<typeof addprocsOptionsSchema>>,
  Same<PmapOptions, z.input<typeof pmapOptionsSchema>>,
  Keys<PmapOptions, z.input<typeof pmapOptionsSchema>>,
  Same<PmapRetryOptions, NonNullable<z.input<typeof pmapOptionsSchema>['retry']>>,
  Same<CallOptions, z.input<typeof callOptionsSchema>>,
  Same<CallTarget, z.input<typeof callTargetSchema>>,
  Same<SpawnTarget, z.input<typeof spawnTargetSchema>>,
] = [true, true, true, true, true, true, true, true, true, true];
