/**
 * The call API as globals on a worker (`workers()`, `remotecall`, `pmap`…), so inline
 * functions, which see only globals, can call it as if they had imported it (as `myid` and
 * `currentSignal` are). The API itself (peer-api.ts) checks its options with zod, and loading
 * zod was the largest part of a worker's start-up; so these globals load it on first use, not
 * before every worker joins (docs/decisions.md, "The worker starts without zod").
 *
 * They load it with `require` (an ES module, synchronously: Node 20.19+), because `remotecall()`
 * answers synchronously; `require` and `import` share one copy of each module. A `require`
 * fails while an `import()` of the same modules is still loading them, so nothing here starts
 * one: the worker requires the API before it imports a module function's module (which may
 * import `@cm/core`, functions.ts), and the globals that return promises fall back to waiting
 * for such an import when user code started one itself.
 * @module
 */
import { createRequire } from 'node:module';
import { MASTER_ID } from './identity.js';
import type * as PeerApiModule from './peer-api.js';
import { peerClient } from './peer-client.js';

type PeerApi = typeof PeerApiModule;
type AnyFunction = (...args: unknown[]) => unknown;

/** The functions that return promises: while user code's own `import()` loads the API, they wait for it. */
const ASYNC_NAMES = ['remotecallFetch', 'remotecallWait', 'fetchFuture', 'pmap', 'everywhere'] as const;
/** The functions that answer synchronously. */
const SYNC_NAMES = ['remotecall', 'spawnAt'] as const;

const requireHere = createRequire(import.meta.url);
let loaded: PeerApi | undefined;

/**
 * peer-api.ts, loaded now if it is not yet. Throws only when user code's own `import()` of
 * `@cm/core` is loading it at this moment (a `require` cannot wait for that).
 */
export function loadPeerApi(): PeerApi {
  if (loaded) return loaded;
  try {
    loaded = requireHere('./peer-api.js') as PeerApi;
  } catch (error) {
    throw new Error(
      "the worker's call API (remotecall, spawnAt…) is being loaded by an import of @cm/core that has not finished; " +
        'await that import (or import remotecall from @cm/core in the module) before calling it',
      { cause: error },
    );
  }
  return loaded;
}

/** Whether the call API is loaded in this process (peer-api.ts and zod): for tests and diagnostics. */
export function peerApiLoaded(): boolean {
  return loaded !== undefined;
}

/** `fn`, named like the function it stands for (in a stack trace, or `remotecall.name`). */
function named<F extends AnyFunction>(name: string, fn: F): F {
  return Object.defineProperty(fn, 'name', { value: name });
}

/** The runtime: make the call API callable from inline functions, loading it when first called. */
export function installPeerGlobals(): void {
  // On a worker (the only place these are installed) both answer from the worker list the master sent: no need to load anything.
  const globals: Record<string, unknown> = {
    MASTER_ID,
    workers: named('workers', () => peerClient().peers()),
    nworkers: named('nworkers', () => peerClient().peers().length),
  };
  for (const name of SYNC_NAMES) globals[name] = named(name, (...args: unknown[]) => (loadPeerApi()[name] as AnyFunction)(...args));
  for (const name of ASYNC_NAMES) {
    globals[name] = named(name, async (...args: unknown[]) => {
      let api = loaded;
      if (!api) {
        try {
          api = loadPeerApi();
        } catch {
          api = loaded = await import('./peer-api.js');
        }
      }
      return (api[name] as AnyFunction)(...args);
    });
  }
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
