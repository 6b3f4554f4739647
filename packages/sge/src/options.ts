/**
 * Grid Engine's options, shared by qsub (SGEManager) and qrsh (QRSHManager): the typed ones,
 * every option name submit.1 lists (so a misspelt key is refused with the closest name), and
 * how they become single-dash flags — one `-l` list for walltime, memory and resources, as
 * Grid Engine reads it.
 * @module
 */
import { type Flag, type FlagValue, optionFlag, snakeCase } from '@cm/core/driver';
import { z } from 'zod';

/** `[[h:]m:]s` or seconds, as Grid Engine writes times (`h_rt=01:30:00`, `h_rt=5400`). */
const TIME = /^(?:(\d+):)?(?:(\d+):)?(\d+)$/;
/** One `-l` entry: `h_vmem=4G`, `arch=lx*`, or a bare boolean resource. */
const RESOURCE = /^[A-Za-z_][\w.-]*(?:=[^,\s'"]+)?$/;

const resourceList = z.union(
  [
    z.string().refine((list) => list.split(',').every((entry) => RESOURCE.test(entry)), "use Grid Engine's form `name=value,name=value` (no spaces or quotes)"),
    z.record(z.string().regex(/^[A-Za-z_][\w.-]*$/, 'must be a resource name'), z.union([z.string().regex(/^[^,\s'"]+$/, 'no commas, spaces or quotes'), z.number()])),
  ],
  { error: 'must be a resource list: `"h_vmem=4G,tmem=4G"` or `{ h_vmem: "4G", tmem: "4G" }`' },
);

/**
 * The common Grid Engine options, typed (qsub and qrsh take the same). Any other option of
 * submit.1 works as a key too: `hold_jid: 12` → `-hold_jid 12`, `cwd: true` → `-cwd`,
 * `R: 'y'` → `-R y`; a name Grid Engine does not have is refused with the closest one.
 */
export const sgeOptionsSchema = z.object({
  /** `-q`: the queue (or queue list, `all.q@node01,short.q`) the jobs run in. */
  queue: z
    .string()
    .regex(/^[^\s'"]+$/, 'a queue name or list, without spaces')
    .optional(),
  /**
   * `-l`: resources each job requests, e.g. `"h_vmem=4G,tmem=4G"` or `{ h_vmem: '4G' }`
   * (`qconf -sc` lists what a site offers). Merged with `walltime` and `memory` into one `-l`.
   */
  resources: resourceList.optional(),
  /** Walltime of each job: `-l h_rt=` in `[[h:]m:]s` (`"01:30:00"`) or a number of seconds. Workers learn their end from it. */
  walltime: z.union([z.string().regex(TIME, 'use `[[hours:]minutes:]seconds`, e.g. "01:30:00"'), z.number().int().positive()], { error: 'must be `"HH:MM:SS"` or a number of seconds' }).optional(),
  /** Memory of each worker, e.g. `"4G"`: `-l <memoryResource>=4G` (`h_vmem` unless the site setting `memoryResource` names another, such as `mem_free`). */
  memory: z
    .string()
    .regex(/^\d+(?:\.\d+)?[KMGTkmgt]?$/, 'use a size like "4G" or "500M"')
    .optional(),
  /** Parallel environment (`qconf -spl` lists them): `-pe <pe> <slots>` per worker; the `tasks` layout asks for `-pe <pe> <np × slots>`. */
  pe: z
    .string()
    .regex(/^[^\s'"]+$/, 'a parallel environment name')
    .optional(),
  /** Slots of each worker in the parallel environment `pe` (threads a worker may use). Default 1. */
  slots: z.number().int().positive().optional(),
  /** `-P`: the project the jobs are charged to. */
  project: z
    .string()
    .regex(/^[^\s'"]+$/, 'a project name')
    .optional(),
  /** `-wd`: the jobs' working directory on the nodes (it must exist there). Default: Grid Engine's, the home directory. */
  wd: z.string().min(1).optional(),
});

/** The typed Grid Engine options as written in code (what {@link sgeOptionsSchema} checks). */
export interface SgeTypedOptions {
  /** `-q`: the queue (or queue list, `'all.q@node01,short.q'`) the jobs run in. Default: Grid Engine's choice. */
  queue?: string;
  /**
   * `-l`: resources each job requests, `'h_vmem=4G,tmem=4G'` or `{ h_vmem: '4G', tmem: '4G' }`
   * (`qconf -sc` lists what a site offers). Merged with `walltime` and `memory` into one `-l`.
   */
  resources?: string | Record<string, string | number>;
  /** Walltime of each job, `-l h_rt=`: `'[[hours:]minutes:]seconds'` (`'01:30:00'`) or a number of seconds. Workers learn their end from it. */
  walltime?: string | number;
  /** Memory of each worker (`'4G'`, `'500M'`): `-l <memoryResource>=4G`, `h_vmem` unless the site setting `memoryResource` names another. */
  memory?: string;
  /** Parallel environment (`qconf -spl`): `-pe <pe> <slots>` per worker; the `tasks` layout asks for `-pe <pe> <np × slots>`. */
  pe?: string;
  /** Slots of each worker in `pe` (threads it may use). Default 1. */
  slots?: number;
  /** `-P`: the project the jobs are charged to. */
  project?: string;
  /** `-wd`: the jobs' working directory on the nodes (it must exist there). Default: Grid Engine's, the home directory. */
  wd?: string;
}

/** The settings as written in code or site config (what {@link sgeSettingsSchema} checks). */
export interface SgeSettingsInput {
  /** The resource `memory` is requested as: `'h_vmem'` (default), `'mem_free'`, `'m_mem_free'`, `'tmem'`… (site specific). */
  memoryResource?: string;
}

// The interfaces above are what the schemas accept, no more and no less.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const typedOptionsMatch: Same<SgeTypedOptions, z.input<typeof sgeOptionsSchema>> = true;
const typedOptionKeysMatch: Same<keyof SgeTypedOptions, keyof z.input<typeof sgeOptionsSchema>> = true;
void typedOptionsMatch;
void typedOptionKeysMatch;

/** Settings of both managers that are not flags (read from site config too). */
export const sgeSettingsSchema = z.object({
  /** The resource `memory` is requested as: `h_vmem` (default), `mem_free`, `m_mem_free`, `tmem`… — site specific. */
  memoryResource: z
    .string()
    .regex(/^[A-Za-z_][\w.-]*$/, 'must be a resource name')
    .default('h_vmem'),
});

/** Settings as parsed. */
export type SgeSettings = z.output<typeof sgeSettingsSchema>;
const settingsMatch: Same<SgeSettingsInput, z.input<typeof sgeSettingsSchema>> = true;
const settingKeysMatch: Same<keyof SgeSettingsInput, keyof z.input<typeof sgeSettingsSchema>> = true;
void settingsMatch;
void settingKeysMatch;

const shared =
  'a A ac ar b binding c ckpt clear cwd C dc dl e h hard hardq holdJid holdJidAd i j js jsv l m M masterq masterl mods N notify now noshell nostdin o ot p P pe pty q R r rou rdi sc shell soft sync S t tc tcon terse umask v verify V w wd'.split(
    ' ',
  );

/** Every option qsub takes (submit.1, SoGE 8.1.9), camelCase, one-letter forms as they are. */
export const QSUB_OPTION_NAMES: readonly string[] = shared;
/** Every option qrsh takes (submit.1): qsub's, plus `-inherit`, `-verbose`. */
export const QRSH_OPTION_NAMES: readonly string[] = [...shared, 'inherit', 'verbose'];

/** Short spellings of the typed options (qsub's own letters), so a site default and a user's option meet under one key. */
export const SGE_ALIASES: Readonly<Record<string, string>> = {
  qsubFlags: 'submitFlags',
  qrshFlags: 'submitFlags',
  q: 'queue',
  l: 'resources',
  P: 'project',
  N: 'jobName',
};

/** Seconds in a Grid Engine time (`01:30:00`, `90:00`, `5400`), or undefined. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const match = TIME.exec(value.trim());
  if (!match) return undefined;
  const [, a, b, c] = match;
  const [h, m] = b === undefined ? [0, Number(a ?? 0)] : [Number(a), Number(b)];
  const seconds = h * 3600 + m * 60 + Number(c);
  return seconds > 0 ? seconds : undefined;
}

/** The `-l` entries of a resource list option. */
export function resourceEntries(resources: unknown): string[] {
  if (typeof resources === 'string') return resources.split(',').filter(Boolean);
  if (resources && typeof resources === 'object') return Object.entries(resources).map(([name, value]) => `${name}=${String(value)}`);
  return [];
}

/** Walltime of these options in seconds: `walltime`, or `h_rt` in the resource list. */
export function walltimeOf(options: Readonly<Record<string, unknown>>): number | undefined {
  const fromList = resourceEntries(options.resources).find((entry) => entry.startsWith('h_rt='));
  return parseTime(options.walltime) ?? parseTime(fromList?.slice('h_rt='.length));
}

/** The typed options handled here; every other key is rendered by core's single-dash rule. */
const TYPED = new Set(['queue', 'resources', 'walltime', 'memory', 'pe', 'slots', 'project', 'wd']);

/**
 * The options as qsub/qrsh flags: `-q`, one `-l` list (walltime, memory, resources), `-P`,
 * `-wd`, then every other key alphabetically (`-hold_jid 12`, `-cwd`). `pe` is rendered by
 * the caller (its slot count depends on the layout).
 */
export function sgeOptionFlags(options: Readonly<Record<string, FlagValue>>, settings: SgeSettings): Flag[] {
  const flags: Flag[] = [];
  if (options.queue) flags.push(['-q', String(options.queue)]);
  const list = [
    ...(options.walltime !== undefined ? [`h_rt=${String(options.walltime)}`] : []),
    ...(options.memory !== undefined ? [`${settings.memoryResource}=${String(options.memory)}`] : []),
    ...resourceEntries(options.resources),
  ];
  if (list.length > 0) flags.push(['-l', list.join(',')]);
  if (options.project) flags.push(['-P', String(options.project)]);
  if (options.wd) flags.push(['-wd', String(options.wd)]);
  const rest = Object.keys(options)
    .filter((key) => !TYPED.has(key) && options[key] !== undefined)
    .sort();
  for (const key of rest) {
    const flag = optionFlag(key, options[key]!, 'single-dash');
    if (flag) flags.push(flag);
  }
  return flags;
}

/** `-pe <pe> <n>` for `workers` workers of `slots` each, or nothing without a parallel environment. */
export function peFlag(options: Readonly<Record<string, FlagValue>>, workers: number): Flag[] {
  const slots = typeof options.slots === 'number' ? options.slots : 1;
  return options.pe ? [['-pe', String(options.pe), String(workers * slots)]] : [];
}

/** Options @cm sets itself, and why the user may not. */
const RESERVED: Readonly<Record<string, string>> = {
  t: 'the number of workers sets -t: pass it as np',
  o: 'job logs go to `logDir`: set that instead',
  e: 'job logs go to `logDir`: set that instead',
  j: "job logs go to `logDir` (stdout and stderr apart, so a failed job's stderr can be shown)",
  terse: '@cm passes -terse itself',
  b: '@cm submits a job script, not a binary',
  sync: 'addprocs waits for the workers itself; -sync would block the submission until the job ends',
  C: '@cm writes the `#$` directives itself',
  S: 'the job script is a bash script: @cm passes -S /bin/bash',
  inherit: 'qrsh -inherit starts a task inside a running job; @cm starts new jobs',
};

/**
 * The checks zod cannot express: reserved options, `slots` without `pe`, walltime given twice,
 * and values Grid Engine's directive parser cannot carry (it strips one kind of quotes, no escapes).
 */
export function checkSgeOptions(options: Readonly<Record<string, FlagValue>>, reserved: readonly string[] = Object.keys(RESERVED)): string | undefined {
  const bad = Object.keys(options).find((key) => reserved.includes(key));
  if (bad) return `\`${bad}\` (-${bad.length === 1 ? bad : snakeCase(bad)}): ${RESERVED[bad]}`;
  if (options.slots !== undefined && !options.pe) return '`slots` counts slots of a parallel environment: set `pe` too (`qconf -spl` lists them)';
  if (options.walltime !== undefined && resourceEntries(options.resources).some((entry) => entry.startsWith('h_rt='))) {
    return '`walltime` and `h_rt` in `resources` both set the walltime: give one';
  }
  if (options.wd !== undefined && options.cwd) return '`wd` and `cwd` both set the working directory: give one';
  const quoted = Object.entries(options).find(([, value]) => typeof value === 'string' && value.includes("'") && value.includes('"'));
  if (quoted) return `\`${quoted[0]}\`: Grid Engine cannot read a value holding both ' and " in a directive`;
  return undefined;
}
