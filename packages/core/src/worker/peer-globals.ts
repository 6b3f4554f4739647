/**
 * The call API as globals on a worker (`workers()`, `remotecall`, `pmap`…), so inline
 * functions, which see only globals, can call it as if they had imported it (as `myid` and
 * `currentSignal` are). The API itself (peer-api.ts) checks its options with zod, and loading
 * zod was the largest part of a worker's start-up; so these globals load it on first use, not
 * before every worker joins (docs/decisions.md, "The worker starts without zod"). They load it
 * with `require` (an ES module, synchronously: Node 20.19+), because `workers()` and
 * `remotecall()` answer synchronously; `require` and `import` share one copy of each module.
 * @module
 */
import { createRequire } from 'node:module';
import { MASTER_ID } from './identity.js';
import type * as PeerApiModule from './peer-api.js';

type PeerApi = typeof PeerApiModule;

/** The functions of peer-api.ts that become globals. */
const API_NAMES = ['workers', 'nworkers', 'remotecall', 'remotecallFetch', 'remotecallWait', 'spawnAt', 'fetchFuture', 'pmap', 'everywhere'] as const;

const requireHere = createRequire(import.meta.url);
let loaded: PeerApi | undefined;

/** peer-api.ts, loaded the first time a remote function uses the call API. */
function peerApi(): PeerApi {
  loaded ??= requireHere('./peer-api.js') as PeerApi;
  return loaded;
}

/** The runtime: make the call API callable from inline functions, loading it when first called. */
export function installPeerGlobals(): void {
  const globals: Record<string, unknown> = { MASTER_ID };
  for (const name of API_NAMES) {
    const forward = (...args: unknown[]): unknown => (peerApi()[name] as (...params: unknown[]) => unknown)(...args);
    // Named like the function it stands for, as in a stack trace or `remotecall.name`.
    Object.defineProperty(forward, 'name', { value: name });
    globals[name] = forward;
  }
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
}

/** Whether a remote function has used the call API on this worker yet (peer-api.ts and zod are loaded). */
export function peerApiLoaded(): boolean {
  return loaded !== undefined;
}
