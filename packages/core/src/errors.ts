/**
 * The errors @cm throws. Every one names what went wrong and what to do about it.
 * @module
 */
import { inspect } from 'node:util';

/**
 * The plain-object form an error takes on the wire (structured clone keeps only data).
 * Everything but `name` and `message` is optional, so older peers' errors still decode.
 */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
  /** Own enumerable properties of the original (`code`, `errno`, `path`, `syscall`…), those that can be cloned. */
  props?: Record<string, unknown> | undefined;
  /** The original's `cause`: a serialized error, or `{ value }` for anything else that was given. */
  cause?: SerializedError | { value: unknown } | undefined;
  /** An AggregateError's `errors`, each a serialized error or `{ value }`. */
  errors?: Array<SerializedError | { value: unknown }> | undefined;
  /** Set when something other than an Error was thrown: the value itself (a structured clone), when it could be cloned. */
  thrown?: { value: unknown } | undefined;
}

/** How deep `cause` chains and nested `errors` are followed before the rest is cut off. */
export const MAX_ERROR_DEPTH = 8;
/** How many of an AggregateError's `errors` travel. */
export const MAX_AGGREGATED_ERRORS = 100;
/** Properties of an Error that are its shape, not extra information. */
const STANDARD_ERROR_KEYS = new Set(['name', 'message', 'stack', 'cause', 'errors']);

/** Options shared by @cm's error classes. */
export interface CmErrorOptions {
  cause?: unknown;
}

/**
 * An exception thrown by user code on a worker, brought back to the master.
 *
 * What survives the trip: `name`, `message` and stack (`remoteName`, `remoteMessage`,
 * `remoteStack`); the original's own enumerable properties (`properties`, and each also set on
 * this error when it does not clash with one of its own fields, so `error.code === 'ENOENT'`
 * works); `cause` (an Error cause becomes a RemoteError, any other value arrives as itself);
 * an AggregateError's `errors` (same rule); and a thrown non-Error as `value`, a structured
 * clone (`throw { code: 'E_X' }` gives `value: { code: 'E_X' }`). Chains are followed
 * {@link MAX_ERROR_DEPTH} deep.
 */
export class RemoteError extends Error {
  /** The worker the exception happened on. */
  readonly workerId: number;
  /** The host the worker runs on. */
  readonly host: string;
  /** The `name` of the original exception (`TypeError`, `RangeError`, a custom class…). */
  readonly remoteName: string;
  /** The original message, without the worker prefix. */
  readonly remoteMessage: string;
  /** The stack trace as the worker printed it. */
  readonly remoteStack: string | undefined;
  /** The `code` property of the original exception, when it had one. */
  readonly remoteCode: string | undefined;
  /** The original's own enumerable properties that could be cloned (`code`, `errno`, `path`…); empty when none. */
  readonly properties: Readonly<Record<string, unknown>>;
  /** The thrown value itself when it was not an Error (`throw { code: 'E_X' }`); undefined otherwise. */
  readonly value: unknown;
  /** Whether a non-Error was thrown (then `value` holds it, when it could be cloned). */
  readonly thrownNonError: boolean;
  /** An AggregateError's `errors`, each a RemoteError (for an Error) or the value; undefined for other errors. */
  readonly errors: unknown[] | undefined;

  constructor(workerId: number, host: string, error: SerializedError) {
    const cause = error.cause === undefined ? undefined : revive(workerId, host, error.cause);
    super(`on worker ${workerId} (${host}): ${error.name}: ${error.message}`, error.cause === undefined ? undefined : { cause });
    this.workerId = workerId;
    this.host = host;
    this.remoteName = error.name;
    this.remoteMessage = error.message;
    this.remoteStack = error.stack;
    this.remoteCode = error.code;
    this.properties = Object.freeze({ ...error.props });
    this.thrownNonError = error.thrown !== undefined;
    this.value = error.thrown?.value;
    this.errors = error.errors?.map((item) => revive(workerId, host, item));
    for (const [key, value] of Object.entries(this.properties)) {
      if (!(key in this)) Object.defineProperty(this, key, { value, enumerable: true, configurable: true });
    }
    if (error.stack) this.stack = `${this.name}: ${this.message}\n--- remote stack (worker ${workerId}) ---\n${error.stack}`;
  }
}

/** A serialized cause or aggregated error back as a RemoteError, or the plain value it was. */
function revive(workerId: number, host: string, item: SerializedError | { value: unknown }): unknown {
  return 'name' in item && typeof item.name === 'string' ? new RemoteError(workerId, host, item) : (item as { value: unknown }).value;
}

/** Why a worker went away, as far as the master (and its scheduler) know. */
export interface WorkerLossInfo {
  /** Short machine-readable reason. */
  reason: 'connection-closed' | 'heartbeat-timeout' | 'removed' | 'cluster-closed' | 'protocol-error' | 'scheduler';
  /** What the scheduler or the launcher said happened (timeout, out of memory, node failure, signal…), when known. */
  detail?: string | undefined;
}

/** A worker was lost (killed, crashed, timed out, removed) while calls were in flight on it. */
export class WorkerLostError extends Error {
  readonly workerId: number;
  readonly host: string | undefined;
  readonly reason: WorkerLossInfo['reason'];
  /** What the scheduler or launcher reported about the loss, when known. */
  readonly detail: string | undefined;

  constructor(workerId: number, host: string | undefined, loss: WorkerLossInfo, options?: CmErrorOptions) {
    const where = host ? ` (${host})` : '';
    const detail = loss.detail ? `: ${loss.detail}` : '';
    super(`worker ${workerId}${where} was lost (${loss.reason})${detail}`, options);
    this.workerId = workerId;
    this.host = host;
    this.reason = loss.reason;
    this.detail = loss.detail;
  }
}

/** The peer broke the wire protocol: bad frame, bad handshake, version mismatch, undecodable payload. */
export class ProtocolError extends Error {
  constructor(message: string, options?: CmErrorOptions) {
    super(message, options);
  }
}

/** A value would make a frame over the connection's `maxFrameBytes`; thrown before anything is sent. */
export class FrameTooLargeError extends ProtocolError {
  /** Also the `code` a worker reports when its result would be too large (`RemoteError.remoteCode`). */
  readonly code = FRAME_TOO_LARGE;
  constructor(
    message: string,
    /** Bytes the frame would have had. */
    readonly bytes: number,
    /** The limit it is over. */
    readonly limit: number,
  ) {
    super(message);
  }
}

/** `code` of a FrameTooLargeError, on either side of the wire. */
export const FRAME_TOO_LARGE = 'CM_FRAME_TOO_LARGE';

/** Starting workers failed: the launcher failed, a job ended before its workers joined, or the launch timed out. */
export class LaunchError extends Error {
  /** Which manager launched (`local`, `slurm`, …). */
  readonly manager: string;
  /** Workers that had joined when the launch failed (they were removed again). */
  readonly joined: number;
  /** Workers the launch expected. */
  readonly expected: number;
  /** The last lines the failed worker or job wrote to stderr, when known. */
  readonly stderrTail: string | undefined;

  constructor(message: string, details: { manager: string; joined?: number; expected?: number; stderrTail?: string | undefined }, options?: CmErrorOptions) {
    const tail = details.stderrTail ? `\n--- last lines of its stderr ---\n${details.stderrTail}` : '';
    super(`${message}${tail}`, options);
    this.manager = details.manager;
    this.joined = details.joined ?? 0;
    this.expected = details.expected ?? 0;
    this.stderrTail = details.stderrTail;
  }
}

/** The caller passed something invalid (an option, a worker id, a function that cannot be shipped). Nothing was started. */
export class UsageError extends Error {
  /** The option path or argument that was wrong, when there is one. */
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: CmErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/**
 * Turn anything thrown into the plain form that crosses the wire: an Error with its own
 * properties, `cause` chain and aggregated `errors` ({@link MAX_ERROR_DEPTH} deep); anything
 * else as its value (a structured clone) with a readable message.
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    const cloned = cloneable(error);
    return {
      name: 'NonErrorThrown',
      message: `a non-Error value was thrown: ${describeThrown(error)}`,
      thrown: cloned.ok ? { value: cloned.value } : { value: undefined },
    };
  }
  const code = (error as { code?: unknown }).code;
  const serialized: SerializedError = {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof code === 'string' ? code : undefined,
  };
  const props = ownProperties(error);
  if (props) serialized.props = props;
  if (depth < MAX_ERROR_DEPTH) {
    if ('cause' in error && error.cause !== undefined) serialized.cause = serializeItem(error.cause, depth + 1);
    if (error instanceof AggregateError && Array.isArray(error.errors)) {
      serialized.errors = (error.errors as unknown[]).slice(0, MAX_AGGREGATED_ERRORS).map((item) => serializeItem(item, depth + 1));
    }
  }
  return serialized;
}

function serializeItem(item: unknown, depth: number): SerializedError | { value: unknown } {
  if (item instanceof Error) return serializeError(item, depth);
  const cloned = cloneable(item);
  return { value: cloned.ok ? cloned.value : describeThrown(item) };
}

/** Own enumerable properties beyond an Error's shape, each kept only if it survives a structured clone. */
function ownProperties(error: Error): Record<string, unknown> | undefined {
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(error)) {
    if (STANDARD_ERROR_KEYS.has(key)) continue;
    const cloned = cloneable((error as unknown as Record<string, unknown>)[key]);
    if (cloned.ok) (props ??= {})[key] = cloned.value;
  }
  return props;
}

function cloneable(value: unknown): { ok: true; value: unknown } | { ok: false } {
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? { ok: false } : { ok: true, value };
  try {
    return { ok: true, value: structuredClone(value) };
  } catch {
    return { ok: false };
  }
}

/** Anything thrown, as text for a person: an Error's stack, else the value itself (`{ code: 'E_X' }`). */
export function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'object' && value !== null) return inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 200 });
    return String(value);
  } catch {
    return typeof value;
  }
}

/**
 * Error guards that work across copies of @cm/core (a driver and a program may load
 * different copies): each class carries its kinds under a registered symbol on its
 * prototype, with `name` there too (execa's shape), so tests and users test errors with
 * `isWorkerLostError(e)` rather than comparing `e.name` strings.
 */
const ERROR_KINDS = Symbol.for('@cm/core.errorKinds');

/** Name an error class and record its kind (with its parent's) for the guards. */
export function brandError(cls: abstract new (...args: never[]) => Error, name: string): void {
  const parent = Object.getPrototypeOf(cls.prototype) as Record<symbol, readonly string[] | undefined>;
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(cls.prototype, ERROR_KINDS, { value: [...(parent[ERROR_KINDS] ?? []), name] });
}

/** Whether `value` is an error of @cm's class `name` (or a subclass of it), from any copy of @cm/core. */
export function isCmError(value: unknown, name: string): boolean {
  const kinds = typeof value === 'object' && value !== null ? (value as Record<symbol, unknown>)[ERROR_KINDS] : undefined;
  return Array.isArray(kinds) && kinds.includes(name);
}

brandError(RemoteError, 'RemoteError');
brandError(WorkerLostError, 'WorkerLostError');
brandError(ProtocolError, 'ProtocolError');
brandError(FrameTooLargeError, 'FrameTooLargeError');
brandError(LaunchError, 'LaunchError');
brandError(UsageError, 'UsageError');

/** An exception thrown by user code on a worker ({@link RemoteError}). */
export const isRemoteError = (value: unknown): value is RemoteError => isCmError(value, 'RemoteError');
/** A worker lost while calls were in flight on it ({@link WorkerLostError}). */
export const isWorkerLostError = (value: unknown): value is WorkerLostError => isCmError(value, 'WorkerLostError');
/** The peer broke the wire protocol ({@link ProtocolError}, {@link FrameTooLargeError}). */
export const isProtocolError = (value: unknown): value is ProtocolError => isCmError(value, 'ProtocolError');
/** A value over the frame limit ({@link FrameTooLargeError}). */
export const isFrameTooLargeError = (value: unknown): value is FrameTooLargeError => isCmError(value, 'FrameTooLargeError');
/** Starting workers failed ({@link LaunchError}, and a scheduler's SchedulerError). */
export const isLaunchError = (value: unknown): value is LaunchError => isCmError(value, 'LaunchError');
/** The caller passed something invalid ({@link UsageError}). */
export const isUsageError = (value: unknown): value is UsageError => isCmError(value, 'UsageError');
