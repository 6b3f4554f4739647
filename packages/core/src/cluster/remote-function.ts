/**
 * The two forms of code that run remotely, as the master sees them: inline functions
 * (shipped as source, compiled once per worker) and module references (imported once per
 * worker). Both are checked here, before anything is sent.
 * @module
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ProtocolError, UsageError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import type { FunctionDefinition } from '../protocol/messages.js';
import { MODULE_FUNCTION, inlineSource, isModuleReference } from '../worker/shippable.js';

export { inlineSource };

/** A reference to a function exported by a module that every worker can import. */
export interface ModuleFunction<Args extends unknown[] = any[], Result = unknown> {
  readonly [MODULE_FUNCTION]: true;
  /** Absolute URL (or bare specifier) of the module. */
  readonly url: string;
  /** The export's name. */
  readonly name: string;
  /** The file that called `moduleFunction` (a relative path was resolved against it), when known; named in import errors. */
  readonly importer?: string | undefined;
  /** Type-only marker so calls infer argument and result types. */
  readonly __signature?: (...args: Args) => Result;
}

/** What `remotecall`, `pmap` and friends accept as the function to run. */
export type RemoteFunction<Args extends unknown[] = any[], Result = unknown> = ((...args: Args) => Result) | ModuleFunction<Args, Result>;

/**
 * Refer to `exportName` of `module` so workers import it (once each) instead of receiving
 * source. `module` is a URL (`new URL('./tasks.js', import.meta.url)`), an absolute path, a
 * bare package specifier, or a path relative to **the module that calls `moduleFunction`**
 * (like an `import`), found from the call stack. Where the stack cannot tell (bundled code,
 * `eval`), pass `base`, the caller's `import.meta.url`; without either, a relative path is
 * resolved against the current directory. Workers must see the same file, as on a cluster's
 * shared filesystem; when they cannot import it, the error names the calling file.
 *
 * @example
 * ```ts
 * const square = moduleFunction<[number], number>('./tasks.js', 'square'); // next to this file
 * const same = moduleFunction<[number], number>('./tasks.js', 'square', import.meta.url);
 * await cluster.pmap(square, [1, 2, 3]);
 * ```
 */
export function moduleFunction<Args extends unknown[] = any[], Result = unknown>(module: string | URL, exportName = 'default', base?: string | URL): ModuleFunction<Args, Result> {
  if (typeof exportName !== 'string' || exportName === '') throw new UsageError(`moduleFunction: exportName must be a non-empty string, got ${describeValue(exportName)}`, 'exportName');
  if (base !== undefined && !(base instanceof URL) && (typeof base !== 'string' || base === '')) {
    throw new UsageError(`moduleFunction: base must be the calling module's import.meta.url, got ${describeValue(base)}`, 'base');
  }
  const baseHref = base === undefined ? undefined : base instanceof URL ? base.href : /^file:/i.test(base) ? base : pathToFileURL(base).href;
  const importer = baseHref === undefined ? callerFile() : fileURLToPath(baseHref);
  let url: string;
  if (module instanceof URL) url = module.href;
  else if (typeof module !== 'string' || module === '') throw new UsageError(`moduleFunction: module must be a URL or a path, got ${describeValue(module)}`, 'module');
  else if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:\\/i.test(module)) url = module;
  else if (path.isAbsolute(module)) url = pathToFileURL(module).href;
  else if (module.startsWith('./') || module.startsWith('../') || module === '.' || module === '..') {
    // As an import resolves it: against the importing file (or the directory a base URL ending in / names).
    url = new URL(module, baseHref ?? (importer ? pathToFileURL(importer).href : pathToFileURL(`${process.cwd()}/`).href)).href;
  } else url = module;
  return { [MODULE_FUNCTION]: true, url, name: exportName, importer };
}

/** The file of the code that called `moduleFunction`, from V8's structured stack; undefined when it is not a file. */
function callerFile(): string | undefined {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- saved to be put back as it was, never called here
  const original = Error.prepareStackTrace;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.prepareStackTrace = (_error, frames) => frames;
    Error.captureStackTrace(holder, moduleFunction);
    const file = holder.stack?.[0]?.getFileName() ?? undefined;
    if (!file || file.startsWith('node:') || file.startsWith('evalmachine')) return undefined;
    if (file.startsWith('file:')) return fileURLToPath(file);
    return path.isAbsolute(file) ? file : undefined;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}

export function isModuleFunction(value: unknown): value is ModuleFunction {
  return isModuleReference(value);
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
    if (isModuleFunction(fn)) return this.#register(`module:${fn.url}#${fn.name}`, { module: fn.url, name: fn.name, importer: fn.importer });
    throw new UsageError(`${caller}: expected a function or a moduleFunction(url, exportName) as fn, got ${describeValue(fn)}`, 'fn');
  }

  /** A function a worker offered (router.ts): the same id as the master's own function of the same source or module export. */
  adopt(definition: FunctionDefinition): PreparedFunction {
    const valid = 'source' in definition ? typeof definition.source === 'string' : typeof definition.module === 'string' && typeof definition.name === 'string';
    if (!valid) throw new ProtocolError('a worker offered a function that is neither { source } nor { module, name }');
    const key = 'source' in definition ? `inline:${definition.source}` : `module:${definition.module}#${definition.name}`;
    return this.#register(key, 'source' in definition ? { source: definition.source } : { module: definition.module, name: definition.name, importer: definition.importer });
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
