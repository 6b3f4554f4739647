/**
 * The two forms of code that run remotely, as the master sees them: inline functions
 * (shipped as source, compiled once per worker) and module references (imported once per
 * worker). Both are checked here, before anything is sent.
 * @module
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { UsageError } from '../errors.js';
import type { FunctionDefinition } from '../protocol/messages.js';

const MODULE_FUNCTION = Symbol.for('@cm/core.moduleFunction');

/** A reference to a function exported by a module that every worker can import. */
export interface ModuleFunction<Args extends unknown[] = any[], Result = unknown> {
  readonly [MODULE_FUNCTION]: true;
  /** Absolute URL (or bare specifier) of the module. */
  readonly url: string;
  /** The export's name. */
  readonly name: string;
  /** Type-only marker so calls infer argument and result types. */
  readonly __signature?: (...args: Args) => Result;
}

/** What `remotecall`, `pmap` and friends accept as the function to run. */
export type RemoteFunction<Args extends unknown[] = any[], Result = unknown> =
  | ((...args: Args) => Result)
  | ModuleFunction<Args, Result>;

/**
 * Refer to `exportName` of `module` so workers import it (once each) instead of receiving
 * source. `module` is a URL (`new URL('./tasks.js', import.meta.url)`), an absolute path, a
 * path relative to the current directory, or a bare package specifier. Workers must see the
 * same file, as on a cluster's shared filesystem.
 *
 * @example
 * ```ts
 * const square = moduleFunction<[number], number>(new URL('./tasks.js', import.meta.url), 'square');
 * await cluster.pmap(square, [1, 2, 3]);
 * ```
 */
export function moduleFunction<Args extends unknown[] = any[], Result = unknown>(
  module: string | URL,
  exportName = 'default',
): ModuleFunction<Args, Result> {
  if (typeof exportName !== 'string' || exportName === '') throw new UsageError('moduleFunction: exportName must be a non-empty string', 'exportName');
  let url: string;
  if (module instanceof URL) url = module.href;
  else if (typeof module !== 'string' || module === '') throw new UsageError('moduleFunction: module must be a URL or a path', 'module');
  else if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:\\/i.test(module)) url = module;
  else if (module.startsWith('.') || path.isAbsolute(module)) url = pathToFileURL(path.resolve(module)).href;
  else url = module;
  return { [MODULE_FUNCTION]: true, url, name: exportName };
}

export function isModuleFunction(value: unknown): value is ModuleFunction {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MODULE_FUNCTION] === true;
}

/** A function prepared for sending: its id, and the definition sent once per worker before its first call. */
export interface PreparedFunction {
  id: number;
  definition: FunctionDefinition;
}

/**
 * Gives each distinct inline source and each module export one id for the cluster's
 * lifetime, so workers compile or import it once and calls carry only the id.
 */
export class FunctionRegistry {
  readonly #byKey = new Map<string, PreparedFunction>();
  readonly #byFunction = new WeakMap<object, PreparedFunction>();

  prepare(fn: unknown, caller: string): PreparedFunction {
    if (typeof fn === 'function') {
      const cached = this.#byFunction.get(fn);
      if (cached) return cached;
      const source = inlineSource(fn as (...args: unknown[]) => unknown, caller);
      const prepared = this.#register(`inline:${source}`, { source });
      this.#byFunction.set(fn, prepared);
      return prepared;
    }
    if (isModuleFunction(fn)) return this.#register(`module:${fn.url}#${fn.name}`, { module: fn.url, name: fn.name });
    throw new UsageError(`${caller}: expected a function or a moduleFunction(url, exportName), got ${fn === null ? 'null' : typeof fn}`, 'fn');
  }

  #register(key: string, definition: FunctionDefinition): PreparedFunction {
    let prepared = this.#byKey.get(key);
    if (!prepared) {
      prepared = { id: this.#byKey.size + 1, definition };
      this.#byKey.set(key, prepared);
    }
    return prepared;
  }
}

/** The source of an inline function as an expression, or a UsageError saying why it cannot be shipped. */
export function inlineSource(fn: (...args: unknown[]) => unknown, caller: string): string {
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new UsageError(
      `${caller}: ${fn.name || 'the function'} is a built-in or bound function, which has no source to ship; ` +
        'wrap it in an arrow function, or use moduleFunction(url, exportName)',
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
