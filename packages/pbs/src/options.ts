/**
 * PBS options: the typed ones (queue, walltime, cpus, memory, account, project), every qsub
 * option name of both dialects (so a misspelling is refused with the closest name), the
 * `dialect` setting, and how the typed options become `-q`, `-A`, `-P` and `-l` resource
 * requests in each dialect (`select=` for PBS Pro, `nodes=1:ppn=` for Torque).
 * Sources: OpenPBS `doc/man1/qsub.1B` (cd7ab5e), Torque `doc/man1/qsub.1.in` (34ff845).
 * @module
 */
import type { Flag, FlagValue } from '@cm/core/driver';
import { z } from 'zod';

/** `HH:MM:SS`, `MM:SS` or seconds, as PBS reads `walltime` (`[[H:]M:]S`). */
const walltimeSchema = z.union([z.string().regex(/^\d+(?::\d{1,2}){0,2}$/, "use PBS's form HH:MM:SS (or MM:SS, or seconds)"), z.number().int().positive()], {
  error: 'must be a PBS walltime (`"01:30:00"`) or a number of seconds',
});

/** A PBS size: a number with `b`/`kb`/`mb`/`gb`/`tb` (or words, `w`). */
const sizeSchema = z.string().regex(/^\d+(?:[kmgtp]?[bw])$/i, 'use a PBS size such as "4gb" or "500mb"');

/**
 * The common qsub options, typed. Any other qsub option works as a one-letter key too
 * (`m: 'abe'` → `-m abe`, `V: ''` → `-V`); other words go in `qsubFlags`.
 */
export const pbsOptionsSchema = z.object({
  /** `-q`: the queue (destination) the jobs go to, e.g. `"workq"`. Default: the server's default queue. */
  queue: z
    .string()
    .regex(/^[^\s,]+$/, 'one queue name (optionally `queue@server`)')
    .optional(),
  /** `-l walltime=`: run time of each worker's job, `"HH:MM:SS"` or seconds. Workers learn when their job ends from it. */
  walltime: walltimeSchema.optional(),
  /** CPUs of each worker's job: `-l select=1:ncpus=N` (PBS Pro), `-l nodes=1:ppn=N` (Torque). Default 1. */
  cpus: z.number().int().positive().optional(),
  /** Memory of each worker's job, a PBS size (`"4gb"`): in the `select` chunk (PBS Pro), `-l mem=` (Torque). */
  memory: sizeSchema.optional(),
  /** `-A`: the account charged for the jobs. */
  account: z.string().min(1).regex(/^\S+$/, 'one word').optional(),
  /** `-P`: the project the jobs belong to (PBS Pro only; Torque's `-P` is a proxy user). */
  project: z.string().min(1).regex(/^\S+$/, 'one word').optional(),
});

/** The options of {@link pbsOptionsSchema}, as written in code. */
export type PbsTypedOptions = z.input<typeof pbsOptionsSchema>;

/** Which PBS the commands on PATH (or behind `sshCommand`) belong to. */
export const PBS_DIALECTS = ['pro', 'torque', 'torque-slurm'] as const;
/** A PBS dialect: PBS Professional / OpenPBS, Adaptive Computing's Torque, or SchedMD's Torque-compatible wrappers over Slurm. */
export type PbsDialect = (typeof PBS_DIALECTS)[number];

/** Settings of the PBS driver: not qsub flags, read from the site config (section `"pbs"`) and `CM_PBS_*` too. */
export const pbsSettingsSchema = z.object({
  /**
   * `'pro'` (PBS Professional, OpenPBS), `'torque'` (Adaptive Computing Torque),
   * `'torque-slurm'` (Slurm's `slurm-wlm-torque` wrappers), or `'auto'` (default): asked once
   * from `qstat --version` (`pbs_version = …` is PBS Pro, `Version: …` on stderr is Torque,
   * `Unknown option: version` is the wrappers over Slurm).
   */
  dialect: z.enum(['auto', ...PBS_DIALECTS]).default('auto'),
});

/** qsub's options in OpenPBS `qsub.1B` (getopt `a:A:c:C:e:fhIj:J:k:l:m:M:N:o:p:P:q:r:R:S:u:v:VW:XzG`). */
export const PBS_PRO_QSUB_OPTIONS: readonly string[] = 'a A c C e f G h I j J k l m M N o p P q r R S u v V W X z'.split(' ');
/** qsub's options in Torque `qsub.1.in` (getopt `a:A:b:c:C:d:D:e:fF:hIj:k:K:l:L:m:M:nN:o:p:P:q:r:S:t:T:u:v:Vw:W:XxzE`). */
export const TORQUE_QSUB_OPTIONS: readonly string[] = 'a A b c C d D e E f F h I j k K l L m M n N o p P q r S t T u v V w W x X z'.split(' ');
/** qsub's options in SchedMD's Torque-compatible `qsub` (slurm-wlm-torque 22.05, GetOptions in the script). */
export const TORQUE_SLURM_QSUB_OPTIONS: readonly string[] = 'a A b e h I j J l m M N o p P q r S t v V W'.split(' ');

/** Every option name of every dialect, plus the typed ones: what `new PBSManager(np, options)` accepts as keys. */
export const PBS_FLAG_NAMES: readonly string[] = [...new Set([...PBS_PRO_QSUB_OPTIONS, ...TORQUE_QSUB_OPTIONS, ...Object.keys(pbsOptionsSchema.shape)])];

/** The qsub options of one dialect. */
export const QSUB_OPTIONS: Readonly<Record<PbsDialect, readonly string[]>> = { pro: PBS_PRO_QSUB_OPTIONS, torque: TORQUE_QSUB_OPTIONS, 'torque-slurm': TORQUE_SLURM_QSUB_OPTIONS };

/** qsub's one-letter spellings of the typed options, so `q: 'debug'` and a site default `queue` meet under one key. */
export const PBS_ALIASES: Readonly<Record<string, string>> = { qsubFlags: 'submitFlags', q: 'queue', A: 'account' };

/** Options @cm sets itself, or that would break the launch: refused with why. */
const RESERVED: Readonly<Record<string, string>> = {
  J: 'the number of workers sets the array (`-J 1-N`): pass it as np',
  t: 'the number of workers sets the array (`-t 1-N`): pass it as np',
  o: 'job logs go to `logDir`: set that instead',
  e: 'job logs go to `logDir`: set that instead',
  j: 'job logs go to `logDir`, stdout and stderr apart (the stderr tail explains failed starts)',
  k: 'job logs go to `logDir`: set that instead',
  N: 'the job name is `jobName`: set that instead',
  I: 'workers run as batch jobs; an interactive job would block qsub',
  z: '@cm reads the job id qsub prints; `-z` suppresses it',
  C: '@cm writes `#PBS` directives; another directive prefix would hide them',
};

/** Whether `W` asks qsub to block until the job ends (`-W block=true`). */
const blocks = (value: FlagValue | undefined) => typeof value === 'string' && /(^|,)block=true/i.test(value);

/**
 * The last check of the options for one dialect: a message saying what is wrong, or undefined.
 * Option names of another dialect are refused here (the names of all dialects are accepted earlier).
 */
export function checkOptions(options: Readonly<Record<string, FlagValue>>, dialect: PbsDialect): string | undefined {
  const reserved = Object.keys(options).find((key) => key in RESERVED);
  if (reserved) return `\`${reserved}\`: ${RESERVED[reserved]}`;
  if (blocks(options.W)) return '`W`: `block=true` makes qsub wait for the job to end; @cm watches the job itself';
  if (dialect !== 'pro' && options.project !== undefined) return "`project` (`-P`) is PBS Pro's; Torque's `-P` names a proxy user: use `account`";
  const typed = new Set(Object.keys(pbsOptionsSchema.shape));
  const foreign = Object.keys(options).find((key) => !typed.has(key) && !QSUB_OPTIONS[dialect].includes(key));
  if (foreign) return `\`${foreign}\` is not a qsub option of ${DIALECT_NAMES[dialect]} (${dialect} dialect); check the \`dialect\` setting, or drop it`;
  return undefined;
}

/** For messages. */
export const DIALECT_NAMES: Readonly<Record<PbsDialect, string>> = { pro: 'PBS Professional / OpenPBS', torque: 'Torque', 'torque-slurm': 'the Torque-compatible wrappers over Slurm' };

/** Seconds in a PBS walltime (`[[H:]M:]S`, or a number of seconds); undefined when it is none. */
export function parseWalltime(value: FlagValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string' || !/^\d+(?::\d+){0,2}$/.test(value.trim())) return undefined;
  const seconds = value
    .trim()
    .split(':')
    .map(Number)
    .reduce((total, part) => total * 60 + part, 0);
  return seconds > 0 ? seconds : undefined;
}

/** `3600` → `01:00:00` (PBS reads both; the server prints this form). */
export function formatWalltime(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
}

/** The walltime these options ask for: the typed `walltime`, or `walltime=` inside a free `l` resource list. */
export function walltimeOf(options: Readonly<Record<string, FlagValue>>): number | undefined {
  if (options.walltime !== undefined) return parseWalltime(options.walltime);
  const list = typeof options.l === 'string' ? /(?:^|,)walltime=([^,]+)/.exec(options.l)?.[1] : undefined;
  return parseWalltime(list);
}

/** The typed options as qsub flags in the dialect's resource syntax, then every other key as `-k value`. */
export function pbsOptionFlags(options: Readonly<Record<string, FlagValue>>, dialect: PbsDialect): Flag[] {
  const flags: Flag[] = [];
  if (options.queue !== undefined) flags.push(['-q', String(options.queue)]);
  if (options.account !== undefined) flags.push(['-A', String(options.account)]);
  if (options.project !== undefined) flags.push(['-P', String(options.project)]);
  if (options.walltime !== undefined) flags.push(['-l', `walltime=${formatWalltime(parseWalltime(options.walltime)!)}`]);
  const cpus = options.cpus === undefined ? undefined : Number(options.cpus);
  const memory = options.memory === undefined ? undefined : String(options.memory).toLowerCase();
  if (dialect === 'pro') {
    // One chunk per worker's job; PBS Pro refuses old `nodes=` mixed with `mem=` (ert#7355).
    if (cpus !== undefined || memory !== undefined) flags.push(['-l', `select=1:ncpus=${cpus ?? 1}${memory ? `:mem=${memory}` : ''}`]);
  } else {
    if (cpus !== undefined) flags.push(['-l', `nodes=1:ppn=${cpus}`]);
    if (memory !== undefined) flags.push(['-l', `mem=${memory}`]);
  }
  const typed = new Set(Object.keys(pbsOptionsSchema.shape));
  for (const key of Object.keys(options)
    .filter((k) => !typed.has(k))
    .sort()) {
    const value = options[key];
    if (value === undefined || value === false) continue;
    flags.push(value === true || value === '' ? [`-${key}`] : [`-${key}`, String(value)]);
  }
  return flags;
}
