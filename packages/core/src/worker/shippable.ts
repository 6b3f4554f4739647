/**
 * What makes a function shippable, shared by the master and by workers that make calls of
 * their own: the source of an inline function (checked to compile on its own) and the mark of
 * a module reference. The master's registry (cluster/remote-function.ts) and the worker's
 * Offers (peer-client.ts) both describe functions with these.
 * @module
 */
import vm from 'node:vm';
import { UsageError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import type { FunctionDefinition } from '../protocol/messages.js';

/** Marks a `moduleFunction(…)` reference; registered, so every copy of @cm/core agrees. */
export const MODULE_FUNCTION = Symbol.for('@cm/core.moduleFunction');

/** Whether `value` is a `moduleFunction(…)` reference (from any copy of @cm/core). */
export function isModuleReference(value: unknown): value is { url: string; name: string; importer?: string | undefined } {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MODULE_FUNCTION] === true;
}

/** How a function travels: its source, or its module and export; a UsageError names what cannot be shipped. */
export function definitionOf(fn: unknown, caller: string): { key: string; definition: FunctionDefinition } {
  if (typeof fn === 'function') {
    const source = inlineSource(fn as (...args: unknown[]) => unknown, caller);
    return { key: `inline:${source}`, definition: { source } };
  }
  if (isModuleReference(fn)) return { key: `module:${fn.url}#${fn.name}`, definition: { module: fn.url, name: fn.name, importer: fn.importer } };
  throw new UsageError(`${caller}: expected a function or a moduleFunction(url, exportName) as fn, got ${describeValue(fn)}`, 'fn');
}

/** The source of an inline function as an expression, or a UsageError saying why it cannot be shipped. */
export function inlineSource(fn: (...args: unknown[]) => unknown, caller: string): string {
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new UsageError(
      `${caller}: ${fn.name || 'the function'} is a built-in or bound function, which has no source to ship; ` + 'wrap it in an arrow function, or use moduleFunction(url, exportName)',
      'fn',
    );
  }
  if (/^class\b/.test(source)) throw new UsageError(`${caller}: a class cannot be called remotely; pass a function`, 'fn');
  // Method shorthand (`{ square(x) {…} }.square`) prints without the `function` keyword.
  const candidates = [source, source.replace(/^(async\s+)?(\*?\s*)/, '$1function$2 ')];
  for (const candidate of candidates) {
    try {
      new vm.Script(`(${candidate})`);
      return candidate;
    } catch {
      // try the next form
    }
  }
  throw new UsageError(`${caller}: cannot ship this function as source (it does not compile on its own): ${source.slice(0, 80)}`, 'fn');
}
