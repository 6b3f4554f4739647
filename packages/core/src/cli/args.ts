/**
 * The command line of `cm <command> <driver> [options]`, parsed with Node's own
 * `util.parseArgs`: the command's own options are declared; every other `--name value`
 * (or `--name=value`, or a bare `--name`) is a driver option, turned from text into what the
 * driver's schema wants (a number for `--cpus-per-task 2`), so the manager validates it and
 * refuses a misspelt name with the closest one.
 * @module
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { canonicalKey } from '../batch/flags.js';

/** Options a command declares (its own, not the driver's). */
export type OwnOptions = NonNullable<ParseArgsConfig['options']>;

/** A parsed command line. */
export interface CommandLine {
  /** Values of the command's own options. */
  readonly own: Readonly<Record<string, string | boolean | undefined>>;
  /** Words that are not options (the driver name first), and every word after `--`. */
  readonly positionals: readonly string[];
  /** Driver options as written (text; `''` for a bare flag), keyed as written without dashes. */
  readonly driverOptions: Readonly<Record<string, string>>;
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
} as const satisfies OwnOptions;

/**
 * Split `args` into the command's own options, positionals and driver options.
 * @throws UsageError for a driver option given twice
 */
export function parseCommandLine(args: readonly string[], own: OwnOptions): CommandLine {
  const options: OwnOptions = { ...COMMON_OPTIONS, ...own };
  const { values, tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const driverOptions: Record<string, string> = {};
  let afterTerminator = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'option-terminator') {
      afterTerminator = true;
      continue;
    }
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (afterTerminator || token.name in options) continue;
    let value = token.value;
    if (value === undefined) {
      // `--partition debug`: the next word is the value; a bare `--exclusive` is a flag.
      const next = tokens[i + 1];
      if (next?.kind === 'positional') {
        value = next.value;
        i++;
      } else {
        value = '';
      }
    }
    if (token.name in driverOptions) throw new UsageError(`${token.rawName} is given twice; give it once`, token.name);
    driverOptions[token.name] = value;
  }
  const ownValues = Object.fromEntries(Object.keys(options).map((key) => [key, values[key]]));
  for (const [key, config] of Object.entries(options)) {
    if (config.type === 'string' && ownValues[key] === true) throw new UsageError(`--${key} needs a value (--${key} <value>)`, key);
  }
  return { own: ownValues, positionals, driverOptions };
}

/** The value `text` stands for, given what the option's schema accepts: the text itself, a number, a boolean, or JSON (`'["module load node"]'`). */
function coerce(text: string, schema: z.ZodType | undefined): unknown {
  if (!schema || schema.safeParse(text).success) return text;
  const candidates: unknown[] = [];
  if (text === '') candidates.push(true);
  if (/^-?\d+(\.\d+)?$/.test(text)) candidates.push(Number(text));
  if (text === 'true' || text === 'false') candidates.push(text === 'true');
  try {
    candidates.push(JSON.parse(text));
  } catch {
    // not JSON
  }
  return candidates.find((value) => schema.safeParse(value).success) ?? text;
}

/**
 * Driver options with canonical keys and typed values, for `create(np, options)`; a key no
 * schema knows stays text (a scheduler flag passed on as written).
 */
export function typedOptions(driverOptions: Readonly<Record<string, string>>, schemas: readonly (z.ZodObject | undefined)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [written, text] of Object.entries(driverOptions)) {
    const key = canonicalKey(written);
    const schema = schemas.map((s) => s?.shape[key] as z.ZodType | undefined).find(Boolean);
    out[key] = coerce(text, schema);
  }
  return out;
}

/** A whole number >= 1 from `-n`. */
export function workerCount(text: string | boolean | undefined, fallback: number | undefined): number | undefined {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (typeof text !== 'string' || !Number.isInteger(n) || n < 1) throw new UsageError(`-n must be a whole number of workers >= 1, got ${JSON.stringify(text)}`, 'n');
  return n;
}
