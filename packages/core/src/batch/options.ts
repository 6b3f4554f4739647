/**
 * Options of every batch manager, and how they are resolved: site defaults (files and
 * environment variables, see config.ts) under the options given in code, split into the
 * options @cm acts on and the scheduler flags the driver renders, validated with zod before
 * anything is submitted.
 * @module
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { portSchema } from '../util/schemas.js';
import { didYouMean } from '../util/suggest.js';
import { parseOptions } from '../util/validate.js';
import { type OptionLayer, canonicalize, mergeLayers, siteDefaultLayers } from './config.js';
import type { FlagValue } from './driver.js';

/** Text that reaches a job script or a command line: one line (a newline would start another directive). */
const oneLine = z.string().regex(/^[^\n\r\0]*$/, 'must be one line (no newline characters)');

/** A scheduler flag's value: a string or number, `''`/`true` for a bare flag, `false` to leave it out. */
export const flagValueSchema = z.union([oneLine, z.number(), z.boolean()], { error: 'must be a string, number or boolean (`""` for a bare flag)' });

/**
 * The options every batch manager understands, whatever its scheduler. Everything else in a
 * manager's options is a scheduler flag. Flat, so each has an environment variable
 * (`CM_BATCH_LOG_DIR`, `CM_BATCH_LAUNCH_TIMEOUT_MS`…).
 */
export const jobQueueOptionsSchema = z
  .object({
    /** `'array'`: one job array, a job per worker. `'tasks'`: one job with a task per worker. Default: the driver's first. */
    layout: z.enum(['array', 'tasks']).optional(),
    /** Job name (also the prefix of log files). */
    jobName: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 letters, digits, `_`, `.` or `-`')
      .default('cm'),
    /** Directory for job scripts and the jobs' stdout/stderr; must be visible from the compute nodes. Default `~/.cm/logs`. */
    logDir: z.string().min(1).optional(),
    /** Shell lines run in the job before the workers start (`module load nodejs`, `source venv/bin/activate`). */
    prologue: z.array(z.string()).default([]),
    /** Extra environment variables for the workers (written into the job script: no secrets here). */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid variable name'), z.string()).default({}),
    /** Node.js flags for the workers, e.g. `['--max-old-space-size=4096']`. */
    nodeArgs: z.array(z.string()).default([]),
    /** Delays in ms before retrying a submission that failed transiently; its length is the number of retries. Default 1, 2, 4, 8, 16 s. */
    submitRetryDelays: z.array(z.number().int().min(0)).max(100).optional(),
    /** First delay between status polls, ms; it grows while nothing changes. */
    pollMs: z.number().int().min(50).default(1_000),
    /** Longest delay between status polls, ms. */
    pollMaxMs: z.number().int().min(50).default(15_000),
    /** Progress display: a live line on a terminal, plain lines otherwise (`auto`), or none. Events are emitted regardless. */
    progress: z.enum(['auto', 'tty', 'plain', 'none']).default('auto'),
    /** Default `addprocs` timeout for this manager, ms (jobs still queued then are cancelled). Default 15 min. */
    launchTimeoutMs: z.number().int().positive().default(900_000),
    /** Interface the master listens on for these workers (`auto`: all, advertising the routable address). */
    host: z.string().min(1).optional(),
    /** Port (or inclusive range) the master listens on for these workers. */
    port: z.union([portSchema, z.tuple([portSchema, portSchema])]).optional(),
    /** Address the workers dial, when it differs from `host` (NAT, a specific interface). */
    advertiseHost: z.string().min(1).optional(),
    /**
     * Submit a replacement job before a job's walltime ends, so the cluster keeps its size:
     * `true` (10 minutes ahead) or how many ms ahead. Needs a walltime option.
     */
    replaceBeforeWalltime: z.union([z.boolean(), z.number().int().positive()]).default(false),
    /** Start the workers inside the allocation the master runs in, without submitting (`salloc`, `sbatch`). */
    inAllocation: z.boolean().optional(),
    /**
     * Free flags for the submit command, as words (`['--exclusive', '--mail-type=END']`,
     * `['-l', 'h_vmem=4G']`): ClusterManagers.jl's `sbatch_flags`/`qsub_flags`/`bsub_flags`.
     * Each driver also takes its own spelling (`sbatchFlags`, `qsubFlags`, `bsubFlags`).
     */
    submitFlags: z.array(oneLine).default([]),
    /**
     * Run every scheduler command on a login node through this command, e.g.
     * `['ssh', '-o', 'BatchMode=yes', 'login1']` (ClusterManagers.jl's `ssh_cmd`). Files the
     * jobs read (job script, secret file) are written there through it, on stdin; relative
     * paths (the default `logDir` becomes `.cm/logs`) are relative to the login home.
     */
    sshCommand: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

/** Options every batch manager takes, as written in code. */
export type { JobQueueOptions } from './job-queue-options.js';
/** Generic options after validation and defaults. */
export type ResolvedJobQueueOptions = z.output<typeof jobQueueOptionsSchema>;

/** Other spellings of generic options. */
const GENERIC_ALIASES: Readonly<Record<string, string>> = { outputDir: 'logDir', logDirectory: 'logDir' };

/** The result of resolving a manager's options. */
export interface ResolvedOptions {
  generic: ResolvedJobQueueOptions;
  /** The driver's settings (validated by its `settingsSchema`; never flags). */
  settings: Record<string, unknown>;
  /** Scheduler flags, canonical keys, in no particular order (the driver orders them). */
  flags: Record<string, FlagValue>;
  /** Where each option's value came from: `code`, a config file, or an environment variable. */
  sources: Record<string, string>;
}

/** What a driver declares about its options, for {@link resolveOptions}. */
export interface OptionDeclaration {
  /** The driver's typed options (each a scheduler flag). */
  flagSchema: z.ZodObject;
  /**
   * Every option name the scheduler's submit command takes (canonical: camelCase, one-letter
   * names as they are), from the man page of the version the driver targets. A key that is
   * none of these, nor typed, nor a setting, nor a generic option is refused with the closest
   * name. Options @cm sets itself may be listed: the driver's `check` refuses them with why.
   */
  flagNames: readonly string[];
  /** Settings that are not flags (PBS `dialect`, LSF `throttle`), validated and read from site defaults like options. */
  settingsSchema?: z.ZodObject | undefined;
  /** Other spellings of options (`p` → `partition`, `sbatchFlags` → `submitFlags`). */
  aliases?: Readonly<Record<string, string>> | undefined;
}

/**
 * Merge site defaults with `code` options and validate them: generic options, the driver's
 * settings and scheduler flags, each checked by its schema; unknown names refused.
 * @throws UsageError naming every bad option, where it was set, and the name it was probably meant to be
 */
export function resolveOptions(driverName: string, declaration: OptionDeclaration, code: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const allAliases = { ...GENERIC_ALIASES, ...declaration.aliases };
  const genericShape = jobQueueOptionsSchema.shape as Record<string, z.ZodType>;
  const settingsShape = (declaration.settingsSchema?.shape ?? {}) as Record<string, z.ZodType>;
  const flagShape = declaration.flagSchema.shape as Record<string, z.ZodType>;
  const layers: OptionLayer[] = [...siteDefaultLayers(driverName, allAliases, env), { source: 'code', values: canonicalize(code, allAliases) }];
  const known = new Set([...Object.keys(genericShape), ...Object.keys(settingsShape), ...Object.keys(flagShape), ...declaration.flagNames]);
  for (const layer of layers) {
    for (const key of Object.keys(layer.values)) {
      const where = layer.keySources?.[key] ?? layer.source;
      if (layer.generic && !(key in genericShape)) {
        throw new UsageError(
          `\`${key}\` (from ${where}) is not an option of every scheduler${didYouMean(key, Object.keys(genericShape))}; set it for one scheduler (section "${driverName}", or CM_${driverName.toUpperCase()}_*)`,
          key,
        );
      }
      if (!known.has(key)) {
        const from = where === 'code' ? '' : ` (from ${where})`;
        throw new UsageError(
          `\`${key}\`${from} is not a ${driverName} option${didYouMean(key, known)}; pass other ${driverName} flags as words in \`submitFlags\`${allAliasesOf(allAliases, 'submitFlags')}`,
          key,
        );
      }
    }
  }
  const { values, sources } = mergeLayers(layers);
  const generic: Record<string, unknown> = {};
  const settings: Record<string, unknown> = {};
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const fromEnv = sources[key]?.startsWith('CM_') ?? false;
    const field = genericShape[key] ?? settingsShape[key] ?? flagShape[key];
    const coerced = fromEnv && typeof value === 'string' && field ? coerceEnvValue(field, value) : value;
    (key in genericShape ? generic : key in settingsShape ? settings : flags)[key] = coerced;
  }
  const what = `${driverName} options`;
  // Typed options have schemas of their own; no flag value may start another directive line.
  for (const [key, value] of Object.entries(flags)) {
    if (typeof value === 'string' && /[\n\r\0]/.test(value)) {
      const source = sources[key] && sources[key] !== 'code' ? ` (from ${sources[key]})` : '';
      throw new UsageError(`invalid ${what}: \`${key}\`${source}: must be one line (no newline characters)`, key);
    }
  }
  return {
    generic: parseOptions(jobQueueOptionsSchema, generic, what, sources),
    settings: declaration.settingsSchema ? parseOptions(declaration.settingsSchema.strict(), settings, what, sources) : {},
    flags: parseOptions(declaration.flagSchema.catchall(flagValueSchema), flags, what, sources) as Record<string, FlagValue>,
    sources,
  };
}

/** ` (or \`sbatchFlags\`)`: the driver's own spelling of a generic option, for messages. */
function allAliasesOf(aliases: Readonly<Record<string, string>>, target: string): string {
  const names = Object.entries(aliases)
    .filter(([, to]) => to === target)
    .map(([from]) => `\`${from}\``);
  return names.length ? ` (or ${names.join(', ')})` : '';
}

/** An environment variable is a string; give the schema the number, boolean or JSON value it expects. */
function coerceEnvValue(field: z.ZodType, raw: string): unknown {
  if (field.safeParse(raw).success) return raw;
  try {
    const json: unknown = JSON.parse(raw);
    if (field.safeParse(json).success) return json;
  } catch {
    // not JSON: leave it as written, so the error shows it
  }
  return raw;
}
