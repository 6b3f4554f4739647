/**
 * A value as a short phrase for error messages: `number 5`, `string "2"`, `null`, `an array`.
 * Names the type as well as the value, so `'2'` and `2` are told apart.
 * @module
 */
import { inspect } from 'node:util';

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  const shown = inspect(value, { depth: 1, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 60 });
  const text = shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
  if (typeof value === 'object') {
    const name = value.constructor?.name;
    return name && name !== 'Object' ? `a ${name} ${text}` : `an object ${text}`;
  }
  return `${typeof value} ${text}`;
}
