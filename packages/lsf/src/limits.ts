/**
 * LSF's limits as bsub takes them: the run limit `-W [hours:]minutes`, and memory in the
 * site's unit (`LSF_UNIT_FOR_LIMITS` in lsf.conf; IBM's lsf.conf and bsub -M pages). Memory is
 * converted here, once, so users write `'4GB'` whatever unit their cluster counts in.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FlagValue } from '@cm/core/driver';

/** The units `LSF_UNIT_FOR_LIMITS` may name (LSF counts them in powers of 1024). */
export const MEMORY_UNITS = ['KB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;
export type MemoryUnit = (typeof MEMORY_UNITS)[number];

const POWER: Readonly<Record<MemoryUnit, number>> = { KB: 1, MB: 2, GB: 3, TB: 4, PB: 5, EB: 6 };

/** `4GB`, `4G`, `512 mb`, `1.5T`: a size with a unit; a bare number is in the site's unit. */
export const MEMORY_PATTERN = /^(\d+(?:\.\d+)?)\s*(?:([KMGTPE])B?)?$/i;

/** A `-W` value: minutes, or `hours:minutes`, optionally normalised to a host (`/hostA`). */
export const RUN_LIMIT_PATTERN = /^(?:(\d+):)?(\d+)(\/\S+)?$/;

/**
 * A memory option in a unit of LSF's, rounded up to a whole number (bsub takes integers).
 * A number is taken to be in `unit` already.
 * @returns undefined when the value is not a size
 */
export function memoryIn(value: FlagValue, unit: MemoryUnit): number | undefined {
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return value > 0 ? Math.ceil(value) : undefined;
  const match = MEMORY_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const from = match[2] ? (`${match[2].toUpperCase()}B` as MemoryUnit) : unit;
  const converted = amount * 1024 ** (POWER[from] - POWER[unit]);
  return converted > 0 ? Math.ceil(converted - 1e-9) : undefined;
}

/**
 * Seconds of a `-W` run limit, or undefined when there is none or it is normalised to a
 * host's CPU factor (`/host_name`: the wall-clock end is then not known in advance).
 */
export function runLimitSeconds(value: FlagValue | undefined): number | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return value > 0 ? Math.round(value * 60) : undefined;
  const match = RUN_LIMIT_PATTERN.exec(value.trim());
  if (!match || match[3]) return undefined;
  const seconds = (Number(match[1] ?? 0) * 60 + Number(match[2])) * 60;
  return seconds > 0 ? seconds : undefined;
}

/**
 * `LSF_UNIT_FOR_LIMITS` from the lsf.conf of this machine (`$LSF_ENVDIR/lsf.conf`, else
 * `/etc/lsf.conf`, where LSF's profile scripts look), as dask-jobqueue reads it; undefined
 * when neither names one.
 */
export function unitFromLsfConf(env: NodeJS.ProcessEnv = process.env): MemoryUnit | undefined {
  const files = [env.LSF_ENVDIR ? path.join(env.LSF_ENVDIR, 'lsf.conf') : undefined, '/etc/lsf.conf'].filter((f): f is string => f !== undefined);
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const match = /^\s*LSF_UNIT_FOR_LIMITS\s*=\s*["']?([A-Za-z]+)["']?\s*$/m.exec(text);
    const unit = match?.[1] ? `${match[1].toUpperCase().replace(/B$/, '')}B` : undefined;
    return MEMORY_UNITS.find((known) => known === unit);
  }
  return undefined;
}

/**
 * A resource requirement string with memory reserved (`rusage[mem=N]`), merged into the
 * user's own string: LSF takes one `-R` per section, and older versions one `-R` in all.
 * A `rusage` section that already reserves `mem` is left as the user wrote it.
 */
export function withMemoryReservation(resources: string | undefined, amount: number): string {
  const reservation = `mem=${amount}`;
  if (!resources?.trim()) return `rusage[${reservation}]`;
  const rusage = /rusage\[([^\]]*)\]/.exec(resources);
  if (!rusage) return `${resources.trim()} rusage[${reservation}]`;
  const inside = rusage[1] ?? '';
  if (/(^|[\s,:])mem\s*=/.test(inside)) return resources;
  return resources.replace(rusage[0], `rusage[${inside.trim() ? `${inside},` : ''}${reservation}]`);
}
