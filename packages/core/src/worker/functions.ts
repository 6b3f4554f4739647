/**
 * The worker's table of runnable functions: inline functions compiled once from the source
 * the master defined, and module exports imported once and cached.
 * @module
 */
import type { FunctionRef } from '../protocol/messages.js';

type AnyFunction = (...args: unknown[]) => unknown;

const INLINE_FILE_PREFIX = 'cm-inline-';

export class FunctionTable {
  readonly #inline = new Map<number, AnyFunction | Error>();
  readonly #modules = new Map<string, Promise<AnyFunction>>();

  /** Compile an inline function. A syntax error is kept and thrown by every call that uses it. */
  define(id: number, source: string): void {
    try {
      // `new Function` compiles in the worker's global scope, so only globals are visible —
      // which is exactly the contract of an inline function. The sourceURL names it in stacks.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiling shipped source is the point
      const compiled = new Function(`return (${source});\n//# sourceURL=${INLINE_FILE_PREFIX}${id}.js`)() as unknown;
      if (typeof compiled !== 'function') throw new TypeError(`inline function ${id} did not compile to a function`);
      this.#inline.set(id, compiled as AnyFunction);
    } catch (error) {
      this.#inline.set(id, error as Error);
    }
  }

  /** The function for `ref`: synchronously when it is ready, else a promise (first use of a module). */
  resolve(ref: FunctionRef): AnyFunction | Promise<AnyFunction> {
    if (ref.kind === 'inline') {
      const fn = this.#inline.get(ref.id);
      if (fn === undefined) throw new Error(`inline function ${ref.id} was never defined on this worker (protocol error)`);
      if (fn instanceof Error) throw fn;
      return fn;
    }
    const key = `${ref.url}#${ref.name}`;
    let loaded = this.#modules.get(key);
    if (!loaded) {
      loaded = importExport(ref.url, ref.name);
      this.#modules.set(key, loaded);
      // A failed import is not cached: the file may be fixed and the call retried.
      loaded.catch(() => this.#modules.delete(key));
    }
    return loaded;
  }
}

async function importExport(url: string, name: string): Promise<AnyFunction> {
  const namespace = (await import(url)) as Record<string, unknown>;
  const value = namespace[name];
  if (typeof value !== 'function') {
    const exports = Object.keys(namespace).join(', ') || 'none';
    throw new TypeError(
      value === undefined
        ? `module ${url} has no export named "${name}" (its exports: ${exports})`
        : `export "${name}" of module ${url} is a ${typeof value}, not a function`,
    );
  }
  return value as AnyFunction;
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
