/**
 * The worker's table of runnable functions: inline functions compiled once from the source
 * the master defined, and module exports imported once and cached.
 * @module
 */
import { hostname } from 'node:os';
import type { DefineMessage } from '../protocol/messages.js';
import { loadPeerApi } from './peer-globals.js';

type AnyFunction = (...args: unknown[]) => unknown;

const INLINE_FILE_PREFIX = 'cm-inline-';

interface ModuleEntry {
  module: string;
  name: string;
  /** The file that called `moduleFunction`, for messages. */
  importer: string | undefined;
  loaded?: Promise<AnyFunction>;
}

export class FunctionTable {
  readonly #ready = new Map<number, AnyFunction | Error | ModuleEntry>();
  readonly #scopeNames: string[];
  readonly #scopeValues: unknown[];

  /**
   * @param scope names an inline function sees besides globals: the master runs functions
   * workers send it with `myid`, `currentSignal`, `remotecall`… in scope, without making them
   * globals of the user's program (workers have them as globals).
   */
  constructor(scope: Readonly<Record<string, unknown>> = {}) {
    this.#scopeNames = Object.keys(scope);
    this.#scopeValues = Object.values(scope);
  }

  /** Define function `id`: compile inline source now (a syntax error is kept and thrown by every call); import modules on first use. */
  define(message: DefineMessage): void {
    if ('module' in message) {
      this.#ready.set(message.id, { module: message.module, name: message.name, importer: message.importer });
      return;
    }
    try {
      // `new Function` compiles in the worker's global scope, so only globals are visible —
      // which is exactly the contract of an inline function. The sourceURL names it in stacks.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiling shipped source is the point
      const compiled = new Function(...this.#scopeNames, `return (${message.source});\n//# sourceURL=${INLINE_FILE_PREFIX}${message.id}.js`)(...this.#scopeValues) as unknown;
      if (typeof compiled !== 'function') throw new TypeError(`inline function ${message.id} did not compile to a function`);
      this.#ready.set(message.id, compiled as AnyFunction);
    } catch (error) {
      this.#ready.set(message.id, error as Error);
    }
  }

  /** Function `id`: synchronously when it is ready, else a promise (first use of a module). */
  resolve(id: number): AnyFunction | Promise<AnyFunction> {
    const entry = this.#ready.get(id);
    if (entry === undefined) throw new Error(`function ${id} was never defined on this worker (protocol error)`);
    if (typeof entry === 'function') return entry;
    if (entry instanceof Error) throw entry;
    if (!entry.loaded) {
      entry.loaded = importExport(entry.module, entry.name, entry.importer);
      entry.loaded.then(
        (fn) => this.#ready.set(id, fn),
        // A failed import is not cached: the file may be fixed and the call retried.
        () => (entry.loaded = undefined),
      );
    }
    return entry.loaded;
  }
}

async function importExport(url: string, name: string, importer: string | undefined): Promise<AnyFunction> {
  // The module may import @cm/core: load the call API first, so that the globals' `require` of
  // it never meets this import half-way (peer-globals.ts). Only a concurrent import of the user's
  // own can make this fail, and then that import loads it.
  try {
    loadPeerApi();
  } catch {
    // loaded by that import instead
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw explainImportError(error, url, importer);
  }
  const value = namespace[name];
  if (typeof value !== 'function') {
    const exports = Object.keys(namespace).join(', ') || 'none';
    throw new TypeError(value === undefined ? `module ${url} has no export named "${name}" (its exports: ${exports})` : `export "${name}" of module ${url} is a ${typeof value}, not a function`);
  }
  return value as AnyFunction;
}

/**
 * A module a worker cannot find: Node names the worker runtime's own file as the importer,
 * which helps nobody. Name the file that called `moduleFunction`, the host, and what to check.
 */
function explainImportError(error: unknown, url: string, importer: string | undefined): unknown {
  const code = (error as { code?: unknown }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_UNSUPPORTED_DIR_IMPORT' && code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') return error;
  const from = importer ? ` (moduleFunction called in ${importer})` : '';
  const relative = url.startsWith('file:')
    ? 'a relative path is resolved against the file that called moduleFunction; check the path and that this host sees the same file (a shared filesystem)'
    : "a package name is resolved from the worker's working directory: install the package where the workers run, or pass a file URL";
  const explained = new Error(`cannot import ${url}${from} on worker host ${hostname()}: ${(error as Error).message.split('\n')[0]?.replace(/ imported from \S+/, '')}. Hint: ${relative}`, {
    cause: error,
  });
  Object.assign(explained, { code });
  return explained;
}

/**
 * When an inline function reads a variable that only existed in the master's scope, V8
 * says "x is not defined". Say why, and what to do instead.
 */
export function explainInlineError(error: unknown): unknown {
  if (!(error instanceof ReferenceError)) return error;
  const match = /^(\S+) is not defined$/.exec(error.message);
  const firstFrame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  if (!match || !firstFrame?.includes(INLINE_FILE_PREFIX)) return error;
  const name = match[1];
  const explained = new ReferenceError(
    `${name} is not defined on the worker: the inline function captures the outer variable \`${name}\`, ` +
      `but inline functions are shipped as source and cannot capture variables. ` +
      `Pass ${name} as an argument, define it inside the function, or use moduleFunction(url, exportName).`,
  );
  explained.stack = `${explained.name}: ${explained.message}\n${error.stack?.split('\n').slice(1).join('\n') ?? ''}`;
  return explained;
}
