/**
 * A socket that speaks frames: used by the master for each worker and by the worker for its
 * master. It owns the FrameReader, the write path and teardown; it knows nothing about what
 * the frames mean.
 * @module
 */
import type { Socket } from 'node:net';
import { ProtocolError } from '../errors.js';
import { CALL_ID_BYTES } from './messages.js';
import type { FrameType} from './frame.js';
import { FRAME_HEADER_BYTES, FrameReader, encodeFrame, frameHeader } from './frame.js';

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

/** Frames below this size are copied into one buffer; above it, header and payload are written separately to avoid the copy. */
const COALESCE_LIMIT = 64 * 1024;

export class FramedConnection {
  readonly reader: FrameReader;
  /** `Date.now()` of the last frame received; heartbeats are judged against it. */
  lastReceivedAt = Date.now();
  /** Who gets frames now; while nobody does (between handshake steps), frames wait in #queued. */
  #handler: ((frame: Frame) => void) | undefined;
  #queued: Frame[] = [];
  #closed = false;
  #closeListeners: Array<(error: Error | undefined) => void> = [];

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
  ) {
    socket.setNoDelay(true);
    this.reader = new FrameReader((type, payload) => {
      this.lastReceivedAt = Date.now();
      if (this.#handler) this.#handler({ type, payload });
      else this.#queued.push({ type, payload });
    }, maxFrameBytes);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
      } catch (error) {
        this.destroy(error instanceof Error ? error : new ProtocolError(String(error)));
      }
    });
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  get closed(): boolean {
    return this.#closed;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /**
   * Route every incoming frame to `handler` (replaces the previous handler). Frames that
   * arrived while no handler was set (a Welcome and the first Call can share one TCP read)
   * are delivered first, in order.
   */
  onFrame(handler: (frame: Frame) => void): void {
    this.#handler = handler;
    while (this.#queued.length > 0 && this.#handler === handler && !this.#closed) handler(this.#queued.shift()!);
  }

  /** Called once, when the connection ends for any reason; `error` says why when it was not a clean close. */
  onClose(listener: (error: Error | undefined) => void): void {
    if (this.#closed) listener(undefined);
    else this.#closeListeners.push(listener);
  }

  /** Wait for the next frame (handshake use); rejects on close or timeout. */
  nextFrame(timeoutMs: number, what: string): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ProtocolError(`no ${what} from ${this.remoteAddress} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onClose((error) => {
        clearTimeout(timer);
        reject(error ?? new ProtocolError(`connection ${this.remoteAddress} closed before the ${what}`));
      });
      this.onFrame((frame) => {
        clearTimeout(timer);
        this.#handler = undefined;
        resolve(frame);
      });
    });
  }

  send(type: FrameType, payload?: Uint8Array): void {
    if (this.#closed) return;
    this.socket.write(encodeFrame(type, payload));
  }

  /** Send a Call or Result frame: the call id goes before the payload so a decode failure still names the call. */
  sendWithId(type: FrameType, id: number, payload: Buffer): void {
    if (this.#closed) return;
    const bodyBytes = CALL_ID_BYTES + payload.length;
    if (payload.length <= COALESCE_LIMIT) {
      const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
      frame.writeUInt32BE(bodyBytes + 1, 0);
      frame[4] = type;
      frame.writeUInt32BE(id, FRAME_HEADER_BYTES);
      payload.copy(frame, FRAME_HEADER_BYTES + CALL_ID_BYTES);
      this.socket.write(frame);
      return;
    }
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES + CALL_ID_BYTES);
    frameHeader(type, bodyBytes).copy(header);
    header.writeUInt32BE(id, FRAME_HEADER_BYTES);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(payload);
    this.socket.uncork();
  }

  /** Close after everything written so far has been flushed. */
  end(): void {
    if (!this.#closed) this.socket.end();
  }

  /** Close now. Listeners see `error` when one is given. */
  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener(error);
  }
}

/** Split a Call/Result frame payload into its call id and V8 bytes. */
export function splitCallId(payload: Buffer): { id: number; body: Buffer } {
  if (payload.length < CALL_ID_BYTES) throw new ProtocolError(`call frame too short (${payload.length} bytes) to hold a call id`);
  return { id: payload.readUInt32BE(0), body: payload.subarray(CALL_ID_BYTES) };
}
