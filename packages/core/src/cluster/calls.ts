/**
 * Giving up on remote calls: reading a call's target and options (`2`, or
 * `{ worker: 2, signal, timeoutMs }`), and wiring a signal and a timeout to the call's
 * cancellation, so that an abort rejects at once with the signal's reason (as `fetch` does)
 * and the worker is told to abandon the call.
 * @module
 */
import { UsageError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import { parseOptions } from '../util/validate.js';
import { type CallOptions, type CallTarget, type SpawnTarget, callOptionsSchema, callTargetSchema, spawnTargetSchema } from './options.js';

/** A call's worker and, when it has any, its options. */
export interface ResolvedTarget<W> {
  worker: W;
  options: CallOptions | undefined;
}

/** `2` or `{ worker: 2, signal, timeoutMs }` → the worker and the options; a UsageError names what is wrong. */
export function resolveTarget(target: number | CallTarget, caller: string): ResolvedTarget<number> {
  if (typeof target === 'number') return { worker: target, options: undefined };
  if (typeof target !== 'object' || target === null) {
    throw new UsageError(`${caller}: the first argument must be a worker id or { worker, signal?, timeoutMs? }, got ${describeValue(target)}`, 'id');
  }
  const { worker, ...options } = parseOptions(callTargetSchema, target, `${caller} target`);
  return { worker, options };
}

export function resolveSpawnTarget(target: number | 'any' | SpawnTarget, caller: string): ResolvedTarget<number | 'any'> {
  if (typeof target === 'number' || target === 'any') return { worker: target, options: undefined };
  if (typeof target !== 'object' || target === null) {
    throw new UsageError(`${caller}: the first argument must be a worker id, 'any', or { worker, signal?, timeoutMs? }, got ${describeValue(target)}`, 'id');
  }
  const { worker, ...options } = parseOptions(spawnTargetSchema, target, `${caller} target`);
  return { worker, options };
}

export function resolveCallOptions(options: CallOptions | undefined, caller: string): CallOptions | undefined {
  return options === undefined ? undefined : parseOptions(callOptionsSchema, options, `${caller} options`);
}

// One wiring of signal and timeout for the master's calls and the workers' (util/give-up.ts).
export { cancelOn, timeoutReason } from '../util/give-up.js';
