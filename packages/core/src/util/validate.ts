/**
 * The one options validator: check options with a zod schema and, on failure, throw a
 * UsageError naming every bad field, what was wrong, and where its value came from.
 * @module
 */
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { describeValue } from './describe.js';
import { explainUnknownKeys, knownKeysAt } from './option-keys.js';

/**
 * Validate options with a zod schema; on failure throw a UsageError naming every bad field,
 * what was wrong, and — when `sources` says so — where each value was set (a config file, an
 * environment variable; `code` is not mentioned).
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string, sources: Readonly<Record<string, string>> = {}): z.output<S> {
  if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    throw new UsageError(`invalid ${what}: expected an options object, got ${describeValue(value)}`, '(options)');
  }
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? (issue.code === 'unrecognized_keys' ? issue.keys[0] : ''));
    const path = issue.path.map(String).join('.') || '(options)';
    const source = sources[key] && sources[key] !== 'code' ? ` (from ${sources[key]})` : '';
    // Zod says only "Unrecognized key"; name the option it was probably meant to be, at any depth.
    const message = issue.code === 'unrecognized_keys' ? explainUnknownKeys(issue.keys, knownKeysAt(schema, issue.path)) : issue.message;
    return `\`${path}\`${source}: ${message}`;
  });
  const first = parsed.error.issues[0];
  const field = first && [...first.path.map(String), ...(first.code === 'unrecognized_keys' ? first.keys.slice(0, 1) : [])].join('.');
  throw new UsageError(`invalid ${what}: ${issues.join('; ')}`, field);
}
