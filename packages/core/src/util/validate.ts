import type { z } from 'zod';
import { UsageError } from '../errors.js';

/**
 * Validate options with a zod schema; on failure throw a UsageError naming every bad field,
 * what was wrong, and where the options came from.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(options)';
    return `\`${path}\`: ${issue.message}`;
  });
  const field = parsed.error.issues[0]?.path.map(String).join('.');
  throw new UsageError(`invalid ${what}: ${issues.join('; ')}`, field);
}
