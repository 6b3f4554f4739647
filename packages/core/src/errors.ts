/**
 * The errors @cm throws. Every one names what went wrong and what to do about it.
 * @module
 */

/** The plain-object form an error takes on the wire (structured clone keeps only data). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
}

/** Options shared by @cm's error classes. */
export interface CmErrorOptions {
  cause?: unknown;
}

/** An exception thrown by user code on a worker, brought back to the master. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
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

  constructor(workerId: number, host: string, error: SerializedError) {
    super(`on worker ${workerId} (${host}): ${error.name}: ${error.message}`);
    this.workerId = workerId;
    this.host = host;
    this.remoteName = error.name;
    this.remoteMessage = error.message;
    this.remoteStack = error.stack;
    this.remoteCode = error.code;
    if (error.stack) this.stack = `${this.name}: ${this.message}\n--- remote stack (worker ${workerId}) ---\n${error.stack}`;
  }
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
  override readonly name = 'WorkerLostError';
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
  override readonly name = 'ProtocolError';
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
  // Typed as string so subclasses (SchedulerError) can name themselves.
  override readonly name: string = 'LaunchError';
  /** Which manager launched (`local`, `slurm`, …). */
  readonly manager: string;
  /** Workers that had joined when the launch failed (they were removed again). */
  readonly joined: number;
  /** Workers the launch expected. */
  readonly expected: number;
  /** The last lines the failed worker or job wrote to stderr, when known. */
  readonly stderrTail: string | undefined;

  constructor(
    message: string,
    details: { manager: string; joined?: number; expected?: number; stderrTail?: string | undefined },
    options?: CmErrorOptions,
  ) {
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
  override readonly name = 'UsageError';
  /** The option path or argument that was wrong, when there is one. */
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: CmErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/** Turn anything thrown into the plain form that crosses the wire. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      stack: error.stack,
      code: typeof code === 'string' ? code : undefined,
    };
  }
  return { name: 'NonErrorThrown', message: `a non-Error value was thrown: ${describeThrown(error)}` };
}

/** Anything thrown, as text for a person: an Error's stack, else the value itself. */
export function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}
