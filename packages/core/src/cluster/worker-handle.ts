/**
 * The master's side of one worker: its connection, its calls in flight, and the inline
 * functions already defined on it.
 * @module
 */
import { ProtocolError, RemoteError, WorkerLostError, type WorkerLossInfo } from '../errors.js';
import type { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import {
  type CallMode,
  type HeartbeatStats,
  type OutputMessage,
  type ResultMessage,
  decodeHeartbeatStats,
  decodeMessage,
  decodeResult,
  encodeCall,
  encodeCallWithEncodedArgs,
  encodeCancel,
  encodeMessage,
  messageId,
} from '../protocol/messages.js';
import { CANCEL_MIN_MINOR, ITEM_CALL_MIN_MINOR } from '../protocol/version.js';
import type { WorkerConfig } from '../manager/types.js';
import type { PreparedFunction } from './remote-function.js';

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Told the size of the Result frame's payload (pmap sizes its batches by it). */
  onResultBytes: ((bytes: number) => void) | undefined;
  /** A call forwarded for another process (router.ts): gets the Result payload undecoded. */
  raw?: ((payload: Buffer) => void) | undefined;
  /** A pmap batch (its items are counted by the map, not here). */
  readonly map: boolean;
}

const MAX_CALL_ID = 0xffff_ffff;

export class WorkerHandle {
  readonly #pending = new Map<number, PendingCall>();
  readonly #defined = new Set<number>();
  #nextCallId = 1;
  /** Set once the worker is on its way out; new calls are refused. */
  leaving: WorkerLossInfo | undefined;
  /** The id the last `call` used: read it right after `call` to `cancel` that call later. */
  lastCallId = 0;
  /** The protocol minor version the session settled on: what the worker understands. */
  protocolMinor = 0;
  /** Calls answered so far (a pmap batch counts once), for `cluster.snapshot()`. */
  callsDone = 0;
  /** The CPU and memory figures of the worker's last Heartbeat that carried them, and when it came (`Date.now()`). */
  stats: (HeartbeatStats & { at: number }) | undefined;
  /** Calls this worker made (router.ts) that have not been answered: its running calls wait on them, so they do not make it busy. */
  waiting = 0;
  /** Frames of calls from workers (protocol 1.2+), handled by the router; without it they close the connection. */
  onPeerFrame: ((type: number, payload: Buffer) => void) | undefined;
  /** Called before the first Define is sent to this worker (the router sends the worker list first). */
  beforeFirstDefine: (() => void) | undefined;
  /** `Date.now()` when its last call settled (or it joined); meaningful while `inFlight` is 0. */
  idleSince = Date.now();

  constructor(
    readonly config: WorkerConfig,
    readonly conn: FramedConnection,
    private readonly onOutput: (stream: 'stdout' | 'stderr', lines: string[]) => void,
  ) {
    // An idle worker connection does not keep the master's process alive (see #updateRef).
    conn.socket.unref();
    conn.onFrame(({ type, payload }) => {
      switch (type) {
        case FrameType.Result:
          this.#settle(payload);
          return;
        case FrameType.Output: {
          const { stream, lines } = decodeMessage<OutputMessage>(payload, 'output');
          this.onOutput(stream, lines);
          return;
        }
        case FrameType.Heartbeat:
          if (payload.length > 0) this.#stats(payload);
          return;
        default:
          if (this.onPeerFrame) return this.onPeerFrame(type, payload);
          conn.destroy(new ProtocolError(`worker ${config.id} sent an unexpected frame type 0x${type.toString(16)}`));
      }
    });
  }

  /** The worker understands Cancel (protocol 1.1+; an older one would drop the connection on it). */
  get speaksCancel(): boolean {
    return this.protocolMinor >= CANCEL_MIN_MINOR;
  }

  /** The worker understands one-item map calls (protocol 1.2+; an older one would fail them). */
  get speaksItemCalls(): boolean {
    return this.protocolMinor >= ITEM_CALL_MIN_MINOR;
  }

  get id(): number {
    return this.config.id;
  }

  /** Calls sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Calls in flight that are not pmap/imap batches: remotecalls, spawns, everywhere. */
  get callsInFlight(): number {
    let calls = 0;
    for (const pending of this.#pending.values()) if (!pending.map) calls++;
    return calls;
  }

  /** Send a call. Rejects with RemoteError (user exception), WorkerLostError, or a DataCloneError for unsendable arguments. */
  call(fn: PreparedFunction, mode: CallMode, args: unknown[], onResultBytes?: (bytes: number) => void): Promise<unknown> {
    if (this.leaving) return Promise.reject(this.#lostError(this.leaving));
    let settle: Pick<PendingCall, 'resolve' | 'reject'> | undefined;
    const promise = new Promise((resolve, reject) => (settle = { resolve, reject }));
    this.callWith(fn, mode, args, settle!.resolve, settle!.reject, onResultBytes);
    return promise;
  }

  /**
   * `call` without a promise, for pmap's one call per item: `resolve` or `reject` is called
   * as the Result is read (they must not throw), or on a later microtask when the worker is
   * already leaving. Throws like `call` for arguments that cannot be sent.
   */
  callWith(fn: PreparedFunction, mode: CallMode, args: unknown[], resolve: (value: unknown) => void, reject: (error: unknown) => void, onResultBytes?: (bytes: number) => void): void {
    if (this.leaving) {
      const error = this.#lostError(this.leaving);
      queueMicrotask(() => reject(error));
      return;
    }
    const id = this.#nextCallId;
    const payload = encodeCall({ id, fnId: fn.id, mode, args });
    this.conn.assertFits(payload, 'the call');
    this.#nextCallId = id === MAX_CALL_ID ? 1 : id + 1;
    this.lastCallId = id;
    if (!this.#defined.has(fn.id)) this.#define(fn);
    this.#pending.set(id, { resolve, reject, onResultBytes, map: mode === 'map' });
    if (this.#pending.size === 1) this.#updateRef();
    this.conn.send(FrameType.Call, payload);
  }

  #define(fn: PreparedFunction): void {
    if (this.#defined.size === 0) this.beforeFirstDefine?.();
    this.conn.send(FrameType.Define, encodeMessage({ id: fn.id, ...fn.definition }));
    this.#defined.add(fn.id);
  }

  /**
   * Send a call made by another process (router.ts) whose argument list is already encoded;
   * `onResult` gets the Result payload as it comes, `onFail` a WorkerLostError. Returns the call id.
   * @throws FrameTooLargeError when the call does not fit a frame
   */
  forward(fn: PreparedFunction, encodedArgs: Buffer, onResult: (payload: Buffer) => void, onFail: (error: unknown) => void): number {
    if (this.leaving) throw this.#lostError(this.leaving);
    const id = this.#nextCallId;
    const payload = encodeCallWithEncodedArgs(id, fn.id, encodedArgs);
    this.conn.assertFits(payload, 'the call');
    this.#nextCallId = id === MAX_CALL_ID ? 1 : id + 1;
    if (!this.#defined.has(fn.id)) this.#define(fn);
    this.#pending.set(id, { resolve: () => {}, reject: onFail, onResultBytes: undefined, raw: onResult, map: false });
    if (this.#pending.size === 1) this.#updateRef();
    this.conn.send(FrameType.Call, payload);
    return id;
  }

  /**
   * Give up on call `id`: it rejects with `reason` now, and a worker that understands Cancel is
   * told to abandon it (its late Result is ignored). Returns false when the call had settled.
   */
  cancel(id: number, reason: unknown): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#updateRef();
    pending.reject(reason);
    if (this.speaksCancel) {
      const { name, message } = reason instanceof Error ? reason : { name: 'AbortError', message: String(reason) };
      this.conn.send(FrameType.Cancel, encodeCancel({ id, reason: { name, message } }));
    }
    return true;
  }

  #settle(payload: Buffer): void {
    const id = messageId(payload);
    const pending = this.#pending.get(id);
    if (!pending) return; // answer to a call we already gave up on
    this.#pending.delete(id);
    this.callsDone++;
    if (this.#pending.size === 0) this.#updateRef();
    if (pending.raw) return pending.raw(payload);
    pending.onResultBytes?.(payload.length);
    let result: ResultMessage;
    try {
      result = decodeResult(payload, `the result of call ${id} from worker ${this.id}`);
    } catch (error) {
      pending.reject(error);
      return;
    }
    if (result.ok) pending.resolve(result.value);
    else pending.reject(new RemoteError(this.id, this.config.host, result.error));
  }

  #stats(payload: Buffer): void {
    const stats = decodeHeartbeatStats(payload);
    if (stats) this.stats = { ...stats, at: Date.now() };
  }

  /** Send Shutdown; resolves true once the worker has closed its connection, false after `graceMs`. */
  askToExit(reason: string, graceMs: number): Promise<boolean> {
    const exited = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), graceMs);
      this.conn.onClose(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    this.conn.send(FrameType.Shutdown, encodeMessage({ reason }));
    return exited;
  }

  /** Fail every call in flight: the worker is gone. */
  failAll(loss: WorkerLossInfo): void {
    this.leaving ??= loss;
    const error = this.#lostError(loss);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#updateRef();
    for (const call of pending) call.reject(error);
  }

  /**
   * Keep the process alive exactly while calls are in flight: awaiting a result holds the
   * master open, but a finished program exits even if it forgot `close()` (its workers then
   * see the connection close and exit too). ref/unref are idempotent and cheap.
   */
  #updateRef(): void {
    if (this.#pending.size > 0) this.conn.socket.ref();
    else {
      this.conn.socket.unref();
      this.idleSince = Date.now();
    }
  }

  #lostError(loss: WorkerLossInfo): WorkerLostError {
    return new WorkerLostError(this.id, this.config.host, loss);
  }
}
