/**
 * A socket that speaks frames: used by the master for each worker and by the worker for its
 * master. It owns the FrameReader, the write path and teardown; it knows nothing about what
 * the frames mean.
 * @module
 */
import type { Socket } from 'node:net';
import { FrameTooLargeError, ProtocolError } from '../errors.js';
import type { EncodedPayload } from './codec.js';
import { directReadsOf } from './direct-reads.js';
import { FRAME_HEADER_BYTES, FrameReader, type FrameType } from './frame.js';
import { peerAddress } from './transport.js';

const EMPTY = new Uint8Array(0);

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

/**
 * Frames up to this size are copied into the tick's outgoing buffer; bigger ones are written
 * as their parts (no copy). The outgoing buffer is written once it holds this much, too.
 */
const COALESCE_LIMIT = 64 * 1024;

/**
 * Backpressure: once this many bytes wait in the socket, further frames wait in the
 * connection's backlog (as references to their parts, not copies) until it drains. Without
 * it, 1,000 concurrent 1 MiB calls over TLS held a gigabyte of ciphertext in the master.
 */
const WRITE_HIGH_WATER_BYTES = 4 * 1024 * 1024;

export class FramedConnection {
  readonly reader: FrameReader;
  /** `Date.now()` of the last frame received; heartbeats are judged against it. */
  lastReceivedAt = Date.now();
  /** `Date.now()` of the last frame sent: a heartbeat is only needed after a quiet interval. */
  lastSentAt = 0;
  /**
   * Who gets frames now. While nobody does (between handshake steps, after a refusal) the
   * connection stops reading: one frame waits in #waiting, the bytes after it stay unparsed in
   * the reader, and the socket is paused so the kernel's window holds the peer back.
   */
  #handler: ((frame: Frame) => void) | undefined;
  #waiting: Frame | undefined;
  #closed = false;
  /** Frames waiting for the socket to drain, in order. */
  #backlog: Array<{ type: FrameType; payload: EncodedPayload }> = [];
  #endAfterBacklog = false;
  /**
   * Small frames sent in this tick, waiting to go out together: one buffer and one system call
   * per tick instead of one per frame (a worker answering 64 tiny calls from one read, a pmap
   * refilling a window). Written when the tick's microtasks run, or when it reaches COALESCE_LIMIT.
   */
  #outgoing: Array<{ type: FrameType; payload: EncodedPayload }> = [];
  #outgoingBytes = 0;
  #flushQueued = false;
  #closeListeners: Array<(error: Error | undefined) => void> = [];

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
  ) {
    socket.setNoDelay(true);
    this.remoteAddress = peerAddress(socket);
    this.reader = new FrameReader((type, payload) => {
      this.lastReceivedAt = Date.now();
      const handler = this.#handler;
      if (handler) handler({ type, payload });
      else this.#waiting = { type, payload };
      // A one-shot handler (a handshake step) is done: parse nothing more until the next
      // step has set its handler and, with it, the frame limit that applies.
      if (!this.#handler) this.stopReading();
    }, maxFrameBytes);
    const reads = directReadsOf(socket);
    if (reads) {
      const { reader } = this;
      reads.attach({
        readBuffer: () => reader.readBuffer(),
        pushRead: (bytes, into) => {
          try {
            reader.pushRead(bytes, into);
          } catch (error) {
            this.destroy(error instanceof Error ? error : new ProtocolError(String(error)));
          }
        },
      });
    } else {
      socket.on('data', (chunk: Buffer) => {
        try {
          this.reader.push(chunk);
        } catch (error) {
          this.destroy(error instanceof Error ? error : new ProtocolError(String(error)));
        }
      });
    }
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The peer's `host:port`, taken when the connection was made (a closed socket has none). */
  readonly remoteAddress: string;

  /**
   * Route every incoming frame to `handler` (replaces the previous handler). A frame that
   * arrived while no handler was set is delivered first; bytes after it (a Welcome and the
   * first Call can share one TCP read) are parsed only now, under the current frame limit.
   */
  onFrame(handler: (frame: Frame) => void): void {
    this.#handler = handler;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting && !this.#closed) {
      handler(waiting);
      if (this.#handler !== handler) return; // a one-shot handler took it
    }
    if (this.#closed || !this.reader.paused) return;
    this.socket.resume();
    try {
      this.reader.resume();
    } catch (error) {
      this.destroy(error instanceof Error ? error : new ProtocolError(String(error)));
    }
  }

  /** Read nothing more from the peer (what has arrived stays unparsed; the kernel window fills and holds it back). */
  stopReading(): void {
    this.reader.pause();
    this.socket.pause();
  }

  /**
   * Turn a refused peer away: stop reading at once, let what was written (a Refuse) go out,
   * and destroy the socket after `lingerMs` at the latest, whatever the peer does.
   */
  dismiss(lingerMs: number): void {
    this.#handler = undefined;
    this.#waiting = undefined;
    this.stopReading();
    this.end();
    setTimeout(() => this.destroy(), lingerMs).unref();
  }

  /**
   * Called once, when the connection ends for any reason; `error` says why when it was not a
   * clean close. Returns a function that forgets the listener (for waits that end first).
   */
  onClose(listener: (error: Error | undefined) => void): () => void {
    if (this.#closed) {
      listener(undefined);
      return () => {};
    }
    this.#closeListeners.push(listener);
    return () => {
      const at = this.#closeListeners.indexOf(listener);
      if (at >= 0) this.#closeListeners.splice(at, 1);
    };
  }

  /** Wait for the next frame (handshake use); rejects on close or timeout. */
  nextFrame(timeoutMs: number, what: string): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ProtocolError(`no ${what} from ${this.remoteAddress} within ${timeoutMs} ms`));
      }, timeoutMs);
      const forget = this.onClose((error) => {
        clearTimeout(timer);
        reject(error ?? new ProtocolError(`connection ${this.remoteAddress} closed before the ${what}`));
      });
      this.onFrame((frame) => {
        clearTimeout(timer);
        forget(); // a connection lives for hours after its handshake: keep no listener per step
        this.#handler = undefined;
        resolve(frame);
      });
    });
  }

  /**
   * The largest frame either side accepts: the reader's limit, and — since both ends use the
   * cluster's `maxFrameBytes` — what this side may send.
   */
  get maxFrameBytes(): number {
    return this.reader.maxFrameBytes;
  }

  set maxFrameBytes(limit: number) {
    this.reader.maxFrameBytes = limit;
  }

  /** Throw (before anything is sent) when `payload` would make a frame the peer must refuse. */
  assertFits(payload: EncodedPayload, what: string): void {
    if (payload.byteLength + 1 > this.maxFrameBytes) {
      const bytes = payload.byteLength + 1;
      throw new FrameTooLargeError(`${what} would be a frame of ${bytes} bytes, over the limit of ${this.maxFrameBytes} bytes; raise the Cluster option maxFrameBytes`, bytes, this.maxFrameBytes);
    }
  }

  /** Send a frame. Handshake frames pass raw bytes; session frames an encoded message (messages.ts). */
  send(type: FrameType, payload: Uint8Array | EncodedPayload = EMPTY): void {
    const encoded = payload instanceof Uint8Array ? { parts: [payload], byteLength: payload.byteLength } : payload;
    this.assertFits(encoded, `frame type 0x${type.toString(16)}`);
    this.#write(type, encoded);
  }

  /** Bytes accepted for sending and not yet handed to the kernel (socket buffer and backlog). */
  get pendingWriteBytes(): number {
    return this.socket.writableLength + this.#outgoingBytes + this.#backlog.reduce((sum, frame) => sum + frame.payload.byteLength + FRAME_HEADER_BYTES, 0);
  }

  #write(type: FrameType, payload: EncodedPayload): void {
    if (this.#closed) return;
    this.lastSentAt = Date.now();
    if (this.#backlog.length > 0 || this.socket.writableLength >= WRITE_HIGH_WATER_BYTES) {
      this.#backlog.push({ type, payload });
      if (this.#backlog.length === 1) this.socket.once('drain', () => this.#drain());
      return;
    }
    this.#writeNow(type, payload);
  }

  #drain(): void {
    let sent = 0;
    while (sent < this.#backlog.length && !this.#closed && this.socket.writableLength < WRITE_HIGH_WATER_BYTES) {
      const frame = this.#backlog[sent++]!;
      this.#writeNow(frame.type, frame.payload);
    }
    this.#backlog.splice(0, sent);
    if (this.#closed) return;
    if (this.#backlog.length > 0) this.socket.once('drain', () => this.#drain());
    else if (this.#endAfterBacklog) {
      this.#flush();
      this.socket.end();
    }
  }

  #writeNow(type: FrameType, payload: EncodedPayload): void {
    const bodyBytes = payload.byteLength;
    if (bodyBytes <= COALESCE_LIMIT) {
      this.#outgoing.push({ type, payload });
      this.#outgoingBytes += FRAME_HEADER_BYTES + bodyBytes;
      if (this.#outgoingBytes >= COALESCE_LIMIT) this.#flush();
      else if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(this.#flushQueuedFrames);
      }
      return;
    }
    this.#flush(); // frames keep their order
    // Big frames: the parts (attachments are the caller's own typed arrays) go out as they are.
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32BE(bodyBytes + 1, 0);
    header[4] = type;
    this.socket.cork();
    this.socket.write(header);
    for (const part of payload.parts) this.socket.write(part);
    this.socket.uncork();
  }

  readonly #flushQueuedFrames = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  /** Write the small frames sent so far now, not at the end of the tick (before long synchronous work). */
  flush(): void {
    this.#flush();
  }

  /** Write the tick's small frames as one buffer. */
  #flush(): void {
    const frames = this.#outgoing;
    if (frames.length === 0) return;
    const buffer = Buffer.allocUnsafe(this.#outgoingBytes);
    this.#outgoing = [];
    this.#outgoingBytes = 0;
    let offset = 0;
    for (const { type, payload } of frames) {
      buffer.writeUInt32BE(payload.byteLength + 1, offset);
      buffer[offset + 4] = type;
      offset += FRAME_HEADER_BYTES;
      for (const part of payload.parts) {
        buffer.set(part, offset);
        offset += part.byteLength;
      }
    }
    if (!this.#closed) this.socket.write(buffer);
  }

  /** Close after everything written so far has been flushed. */
  end(): void {
    if (this.#closed) return;
    if (this.#backlog.length > 0) this.#endAfterBacklog = true;
    else {
      this.#flush();
      this.socket.end();
    }
  }

  /** Close now. Listeners see `error` when one is given. */
  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backlog = [];
    this.#outgoing = [];
    this.#outgoingBytes = 0;
    this.socket.destroy();
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener(error);
  }
}
