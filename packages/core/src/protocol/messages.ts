/**
 * What the session frames carry, and how payloads are encoded (V8 structured clone).
 * The byte layout of frames lives in frame.ts; the handshake in handshake.ts.
 * @module
 */
import v8 from 'node:v8';
import { ProtocolError, type SerializedError } from '../errors.js';

/** Which function a call runs: an inline function defined earlier on this connection, or a module export. */
export type FunctionRef =
  | { kind: 'inline'; id: number }
  | { kind: 'module'; url: string; name: string };

/**
 * `call`: run `fn(...args)` and send back its value.
 * `map`: run `fn(item)` for each element of `args` in order and send back all values (pmap batches).
 */
export type CallMode = 'call' | 'map';

export interface CallMessage {
  fn: FunctionRef;
  mode: CallMode;
  args: unknown[];
}

/** Outcome of one item of a `map` call that threw. */
export type MapFailure = [index: number, error: SerializedError];

export interface MapOutcome {
  values: unknown[];
  failures: MapFailure[];
  /** Time the worker spent running the batch, for pmap's automatic batch sizing. */
  elapsedMs: number;
}

export type ResultMessage = { ok: true; value: unknown } | { ok: false; error: SerializedError };

export interface DefineMessage {
  id: number;
  source: string;
}

export interface OutputMessage {
  stream: 'stdout' | 'stderr';
  lines: string[];
}

export interface ShutdownMessage {
  reason: string;
}

/** Encode a session payload. Throws a DataCloneError (from V8) when the value cannot be cloned. */
export function encodePayload(value: unknown): Buffer {
  return v8.serialize(value);
}

/** Decode a session payload; a ProtocolError names what could not be decoded. */
export function decodePayload<T>(bytes: Buffer, what: string): T {
  try {
    return v8.deserialize(bytes) as T;
  } catch (error) {
    throw new ProtocolError(`could not decode ${what} (${bytes.length} bytes): ${(error as Error).message}`, { cause: error });
  }
}

/** Call and Result frames start with the call id so a payload that fails to decode still fails the right call. */
export const CALL_ID_BYTES = 4;
