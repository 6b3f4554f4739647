/**
 * Options as scheduler flags, the way ClusterManagers.jl maps keyword arguments: a one-letter
 * key becomes `-k value`, a longer key `--key=value` (GNU style, Slurm) or `-key value`
 * (single-dash style: Grid Engine, PBS, LSF), and an empty string a bare flag
 * (`exclusive: ''` gives `--exclusive`).
 * @module
 */
import type { Flag, FlagStyle, FlagValue } from './driver.js';

/**
 * The one spelling of an option key: camelCase, whatever way it was written
 * (`cpus_per_task`, `cpus-per-task`, `CPUS_PER_TASK` and `cpusPerTask` are all `cpusPerTask`).
 * One-letter keys keep their case (`-n` and `-N` differ). `aliases` maps short forms to long
 * ones (`p` → `partition`), so a site default and a user's option meet under one key.
 */
export function canonicalKey(key: string, aliases: Readonly<Record<string, string>> = {}): string {
  if (key.length === 1) return aliases[key] ?? key;
  const words = /[_-]/.test(key) || key === key.toUpperCase() ? key.toLowerCase().split(/[_-]+/) : [key];
  const camel = words
    .filter(Boolean)
    .map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1)))
    .join('');
  return aliases[camel] ?? camel;
}

/** `cpusPerTask` → `cpus-per-task`. */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');
}

/** `holdJid` → `hold_jid` (Grid Engine's, PBS's and LSF's spelling of long options). */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/-/g, '_');
}

/**
 * One option as one flag, or undefined for `false`. `gnu`: `['-p', 'debug']`, `['--mem=4G']`,
 * `['--exclusive']`. `single-dash`: `['-hold_jid', '12']`, `['-l', 'h_vmem=4G']`, `['-cwd']`.
 */
export function optionFlag(key: string, value: FlagValue, style: FlagStyle = 'gnu'): Flag | undefined {
  if (value === false) return undefined;
  const bare = value === true || value === '';
  if (key.length === 1 || style === 'single-dash') {
    const name = key.length === 1 ? key : snakeCase(key);
    return bare ? [`-${name}`] : [`-${name}`, String(value)];
  }
  const name = kebabCase(key);
  return [bare ? `--${name}` : `--${name}=${String(value)}`];
}

/**
 * All options as flags in a deterministic order: the keys in `order` first (a driver's typed
 * options, in the order it declares them), then the rest alphabetically.
 */
export function optionFlags(options: Readonly<Record<string, FlagValue>>, order: readonly string[] = [], style: FlagStyle = 'gnu'): Flag[] {
  const keys = Object.keys(options).filter((key) => options[key] !== undefined);
  const known = order.filter((key) => keys.includes(key));
  const rest = keys.filter((key) => !order.includes(key)).sort();
  return [...known, ...rest].map((key) => optionFlag(key, options[key]!, style)).filter((flag): flag is Flag => flag !== undefined);
}
