/**
 * Site defaults for batch managers, so an administrator sets partition or queue, account and
 * walltime once for everyone. Layers, lowest first:
 *
 * 1. `/etc/cm/config.json` (system-wide)
 * 2. `$XDG_CONFIG_HOME/cm/config.json`, else `~/.config/cm/config.json` (per user)
 *    — or, instead of both, the one file named by `CM_CONFIG`
 * 3. environment variables `CM_BATCH_<OPTION>` (every scheduler) and `CM_<SCHEDULER>_<OPTION>`
 *    (e.g. `CM_SLURM_PARTITION=compute`, `CM_SLURM_CPUS_PER_TASK=4`)
 * 4. the options passed in code
 *
 * A file holds one object per section: `batch` for every scheduler, and one per driver name:
 * `{ "batch": { "logDir": "/scratch/cm" }, "slurm": { "partition": "compute", "account": "proj1" } }`.
 * @module
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { closest } from '../util/suggest.js';
import { canonicalKey } from './flags.js';

/** The name of the variable that points at a site config file, replacing the default locations. */
export const SITE_CONFIG_ENV = 'CM_CONFIG';
/** The section of a site config file that applies to every scheduler. */
export const GENERIC_SECTION = 'batch';

const fileSchema = z.record(z.string(), z.record(z.string(), z.unknown(), { error: 'each section must be an object of options' }), {
  error: 'the file must hold a JSON object of sections, e.g. {"slurm": {"partition": "compute"}}',
});

/** The config files read, lowest precedence first. */
export function siteConfigFiles(env: NodeJS.ProcessEnv = process.env): { path: string; required: boolean }[] {
  const explicit = env[SITE_CONFIG_ENV];
  if (explicit) return [{ path: explicit, required: true }];
  const userDir = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return [
    { path: '/etc/cm/config.json', required: false },
    { path: path.join(userDir, 'cm', 'config.json'), required: false },
  ];
}

/** One layer of options and where it came from (a file path, `CM_SLURM_*`, `code`). */
export interface OptionLayer {
  source: string;
  values: Record<string, unknown>;
  /** Per-key source label, when keys of one layer come from different places (env variables). */
  keySources?: Record<string, string>;
  /** The layer applies to every scheduler: it may only hold generic options, not scheduler flags. */
  generic?: boolean;
}

function readConfigFile(file: { path: string; required: boolean }): Record<string, Record<string, unknown>> | undefined {
  let text: string;
  try {
    text = readFileSync(file.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!file.required && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined;
    throw new UsageError(`cannot read the site config ${file.path} (named by ${SITE_CONFIG_ENV}): ${(error as Error).message}; fix the path or unset ${SITE_CONFIG_ENV}`, SITE_CONFIG_ENV);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the site config ${file.path} is not valid JSON: ${(error as Error).message}`, file.path);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`the site config ${file.path} is malformed at \`${issue?.path.map(String).join('.') || '(top)'}\`: ${issue?.message ?? 'invalid'}`, file.path);
  }
  return parsed.data;
}

/** `CM_SLURM_CPUS_PER_TASK` → `cpusPerTask`, for variables with this prefix. */
function envLayer(env: NodeJS.ProcessEnv, section: string, aliases: Readonly<Record<string, string>>, generic: boolean): OptionLayer {
  const prefix = `CM_${section.toUpperCase()}_`;
  const values: Record<string, unknown> = {};
  const keySources: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined || name.length === prefix.length) continue;
    const key = canonicalKey(name.slice(prefix.length), aliases);
    values[key] = value;
    keySources[key] = name;
  }
  return { source: `${prefix}* variables`, values, keySources, generic };
}

/** Driver names seen in this process (every copy of core shares them), so a section named for another driver is not a typo. */
const DRIVER_NAMES = Symbol.for('@cm/core.driverNames');

/** Remember a driver's name: its section in a site config is then known, not a misspelling. */
export function registerDriverName(name: string): void {
  const names = ((globalThis as Record<symbol, Set<string> | undefined>)[DRIVER_NAMES] ??= new Set());
  names.add(name);
}

function knownSections(): Set<string> {
  return new Set([GENERIC_SECTION, ...((globalThis as Record<symbol, Set<string> | undefined>)[DRIVER_NAMES] ?? [])]);
}

/**
 * A section that is no known driver's and is one typo away from this driver's name or
 * `batch` (`slrum`) would be silently ignored: refuse it. Sections of drivers this program
 * does not load (`sge` in a Slurm program) are fine.
 */
function checkSections(file: string, sections: Record<string, unknown>, driverName: string): void {
  const known = knownSections();
  for (const section of Object.keys(sections)) {
    if (known.has(section) || section === driverName) continue;
    const meant = closest(section, [driverName, GENERIC_SECTION]);
    if (meant) throw new UsageError(`the site config ${file} has a section "${section}": did you mean "${meant}"? Rename it, or it is ignored`, file);
  }
}

/**
 * The site's default layers for a driver, lowest precedence first: files (generic section, then
 * the driver's), then `CM_BATCH_*`, then `CM_<DRIVER>_*`. Keys are in canonical form.
 * @throws UsageError for an unreadable or malformed config file
 */
export function siteDefaultLayers(driverName: string, aliases: Readonly<Record<string, string>> = {}, env: NodeJS.ProcessEnv = process.env): OptionLayer[] {
  const layers: OptionLayer[] = [];
  for (const file of siteConfigFiles(env)) {
    const sections = readConfigFile(file);
    if (!sections) continue;
    checkSections(file.path, sections, driverName);
    for (const section of [GENERIC_SECTION, driverName]) {
      const values = sections[section];
      if (values) layers.push({ source: `${file.path} (section "${section}")`, values: canonicalize(values, aliases), generic: section === GENERIC_SECTION });
    }
  }
  layers.push(envLayer(env, GENERIC_SECTION, aliases, true), envLayer(env, driverName, aliases, false));
  return layers;
}

/** The same options with canonical keys. */
export function canonicalize(values: Readonly<Record<string, unknown>>, aliases: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const canonical = canonicalKey(key, aliases);
    if (canonical in out && out[canonical] !== value) {
      throw new UsageError(`option \`${canonical}\` is given twice (as \`${key}\` and another spelling) with different values; give it once`, canonical);
    }
    out[canonical] = value;
  }
  return out;
}

/** Merge layers (later wins) and remember where each key's value came from. */
export function mergeLayers(layers: readonly OptionLayer[]): { values: Record<string, unknown>; sources: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      if (value === undefined) continue;
      values[key] = value;
      sources[key] = layer.keySources?.[key] ?? layer.source;
    }
  }
  return { values, sources };
}
