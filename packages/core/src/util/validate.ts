/**
 * The one options validator: check options with a zod schema and, on failure, throw a
 * UsageError naming every bad field, what was wrong, and where its value came from.
 * @module
 */
import type { z } from 'zod';
import { UsageError } from '../errors.js';

/**
 * Validate options with a zod schema; on failure throw a UsageError naming every bad field,
 * what was wrong, and — when `sources` says so — where each value was set (a config file, an
 * environment variable; `code` is not mentioned).
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string, sources: Readonly<Record<string, string>> = {}): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const path = issue.path.map(String).join('.') || '(options)';
    const source = sources[key] && sources[key] !== 'code' ? ` (from ${sources[key]})` : '';
    return `\`${path}\`${source}: ${issue.message}`;
  });
  const field = parsed.error.issues[0]?.path.map(String).join('.');
  throw new UsageError(`invalid ${what}: ${issues.join('; ')}`, field);
}
