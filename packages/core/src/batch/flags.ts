/**
 * Options as scheduler flags, the way ClusterManagers.jl maps keyword arguments: a one-letter
 * key becomes `-k value`, a longer key `--key=value` with `_` (and camelCase humps) turned into
 * `-`, and an empty string a bare flag (`exclusive: ''` gives `--exclusive`).
 * @module
 */
import type { Flag, FlagValue } from './driver.js';

/**
 * The one spelling of an option key: camelCase, whatever way it was written
 * (`cpus_per_task`, `cpus-per-task`, `CPUS_PER_TASK` and `cpusPerTask` are all `cpusPerTask`).
 * One-letter keys keep their case (`-n` and `-N` differ). `aliases` maps short forms to long
 * ones (`p` → `partition`), so a site default and a user's option meet under one key.
 */
export function canonicalKey(key: string, aliases: Readonly<Record<string, string>> = {}): string {
  if (key.length === 1) return aliases[key] ?? key;
  const words = /[_-]/.test(key) || key === key.toUpperCase() ? key.toLowerCase().split(/[_-]+/) : [key];
  const camel = words.filter(Boolean).map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1))).join('');
  return aliases[camel] ?? camel;
}

/** `cpusPerTask` → `cpus-per-task`. */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');
}

/** One option as one flag: `['-p', 'debug']`, `['--mem=4G']`, `['--exclusive']`, or undefined for `false`. */
export function optionFlag(key: string, value: FlagValue): Flag | undefined {
  if (value === false) return undefined;
  const bare = value === true || value === '';
  if (key.length === 1) return bare ? [`-${key}`] : [`-${key}`, String(value)];
  const name = kebabCase(key);
  return [bare ? `--${name}` : `--${name}=${String(value)}`];
}

/**
 * All options as flags in a deterministic order: the keys in `order` first (a driver's typed
 * options, in the order it declares them), then the rest alphabetically.
 */
export function optionFlags(options: Readonly<Record<string, FlagValue>>, order: readonly string[] = []): Flag[] {
  const keys = Object.keys(options).filter((key) => options[key] !== undefined);
  const known = order.filter((key) => keys.includes(key));
  const rest = keys.filter((key) => !order.includes(key)).sort();
  return [...known, ...rest].map((key) => optionFlag(key, options[key]!)).filter((flag): flag is Flag => flag !== undefined);
}

/** Parse a walltime: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` (Slurm's forms) or a number of minutes. Seconds, or undefined. */
export function parseWalltime(value: FlagValue | undefined): number | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value * 60) : undefined;
  const match = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(value.trim());
  if (!match) return undefined;
  const [, days, a, b, c] = match;
  const d = Number(days ?? 0);
  const n = [a, b, c].filter((part) => part !== undefined).map(Number);
  let seconds: number;
  if (days !== undefined) {
    // D-HH, D-HH:MM, D-HH:MM:SS
    seconds = d * 86_400 + (n[0] ?? 0) * 3600 + (n[1] ?? 0) * 60 + (n[2] ?? 0);
  } else if (n.length === 1) {
    seconds = n[0]! * 60;
  } else if (n.length === 2) {
    seconds = n[0]! * 60 + n[1]!;
  } else {
    seconds = n[0]! * 3600 + n[1]! * 60 + n[2]!;
  }
  return seconds > 0 ? seconds : undefined;
}
