/**
 * The wire format: every message is one frame.
 *
 * ```
 * uint32 BE  length   bytes that follow this field (1 + payload length), at least 1
 * uint8      type     what the payload is (FrameType)
 * bytes      payload  length - 1 bytes
 * ```
 *
 * Frames bigger than the reader's limit close the connection before any of the payload is
 * buffered, so a garbage length cannot make a peer allocate gigabytes.
 * @module
 */
import { ProtocolError } from '../errors.js';

/** Size of the length field plus the type byte. */
export const FRAME_HEADER_BYTES = 5;

/** Frame types. Handshake frames carry UTF-8 JSON; session frames carry V8 structured-clone bytes. */
export const FrameType = {
  /** master → worker: protocol version and the master's nonce. */
  Hello: 0x01,
  /** worker → master: version, the worker's nonce, its proof and identity. */
  Auth: 0x02,
  /** master → worker: the master's proof and the worker's id and settings. */
  Welcome: 0x03,
  /** either way: the handshake is refused, with a reason; the sender then closes. */
  Refuse: 0x04,
  /** master → worker: run a function (uint32 call id, then V8 bytes). */
  Call: 0x10,
  /** worker → master: the outcome of a call (uint32 call id, then V8 bytes). */
  Result: 0x11,
  /** master → worker: define an inline function once, referenced later by id. */
  Define: 0x12,
  /** worker → master: lines the worker wrote to stdout or stderr. */
  Output: 0x13,
  /** either way: I am alive. Empty payload. */
  Heartbeat: 0x14,
  /** master → worker: finish and exit. */
  Shutdown: 0x15,
  /** master → worker (protocol 1.1+): abandon a call; its caller gave up on it (uint32 call id, then a value). Worker → master (1.2+): the same for one of the worker's Requests. */
  Cancel: 0x16,
  /** worker → master (1.2+): a call the worker makes, to another worker, the master, or a pmap (uint32 request id, target, function id, kind, then a value). */
  Request: 0x17,
  /** master → worker (1.2+): the outcome of a worker's Request (uint32 request id, uint8 status, then a value). */
  Reply: 0x18,
  /** master → worker (1.2+): who the workers are now (a value), before the first Define and on every change after it. */
  Peers: 0x19,
  /** worker → master (1.2+): define a function of the worker's, referenced by its Requests (a value). */
  Offer: 0x1a,
  /**
   * 1.3+, `topology: 'all_to_all'`: master → worker, listen for direct calls from other workers
   * (`{ listen: true }`); worker → master, the address it listens on (`{ host, port }`).
   */
  Direct: 0x1b,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

/** One whole frame in one buffer (for small frames). */
export function encodeFrame(type: FrameType, payload: Uint8Array = EMPTY): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  frame.writeUInt32BE(payload.byteLength + 1, 0);
  frame[4] = type;
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

const EMPTY = new Uint8Array(0);

/** Called once per complete frame. The payload may be a view into a socket chunk: decode it before returning. */
export type FrameHandler = (type: FrameType, payload: Buffer) => void;

/** Bytes of each slab that direct reads (readBuffer) land in; Node's own reads are this size too. */
const SLAB_BYTES = 64 * 1024;
/** A slab with less room than this left is replaced, so a read is never starved to a few bytes. */
const SLAB_MIN_FREE = 4 * 1024;

/**
 * Incremental frame parser: push socket chunks in, get whole frames out.
 * Small frames are handed out as views of the chunk they arrived in (no copy); a frame that
 * spans chunks is assembled into one buffer of exactly its size (one copy). A socket that
 * reads through readBuffer()/pushRead() has the kernel write that buffer itself (no copy).
 */
export class FrameReader {
  /** Bytes of an incomplete header carried to the next chunk. */
  #carry: Buffer | undefined;
  /** A frame body being filled across chunks. */
  #body: Buffer | undefined;
  #bodyFilled = 0;
  #bodyType: FrameType = FrameType.Heartbeat;
  /** Set by pause(): bytes after the last delivered frame wait here, not yet parsed. */
  #paused = false;
  #held: Buffer | undefined;
  /** Direct reads: the slab small frames are read into, never rewritten (frames are views of it), and how much is used. */
  #slab: Buffer | undefined;
  #slabUsed = 0;
  /** Direct reads: the last buffer readBuffer() handed out when it was the rest of #body. */
  #bodyRead: Buffer | undefined;

  constructor(
    private readonly onFrame: FrameHandler,
    /** Largest accepted `length` field; raise it after authentication. */
    public maxFrameBytes: number,
  ) {}

  /**
   * Stop parsing after the frame being delivered. The bytes that follow are kept unparsed
   * until resume(), so a frame that arrived in the same read as a handshake frame is judged
   * by the limit in force once the handshake step is done (not by the pre-auth limit).
   */
  pause(): void {
    this.#paused = true;
  }

  /** Parse what was held back (under the current limit) and go on. Throws like push(). */
  resume(): void {
    this.#paused = false;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.push(held);
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Bytes received but not yet parsed or delivered (held while paused, or a partial frame). */
  get bufferedBytes(): number {
    return (this.#held?.length ?? 0) + (this.#carry?.length ?? 0) + (this.#body?.length ?? 0);
  }

  /** Feed bytes in. Throws ProtocolError on an oversized, empty or unknown frame; the caller closes the connection. */
  push(chunk: Buffer): void {
    if (this.#paused) {
      this.#held = this.#held ? Buffer.concat([this.#held, chunk]) : chunk;
      return;
    }
    let data = chunk;
    if (this.#body) {
      const take = Math.min(this.#body.length - this.#bodyFilled, data.length);
      data.copy(this.#body, this.#bodyFilled, 0, take);
      this.#bodyFilled += take;
      if (this.#bodyFilled < this.#body.length) return;
      const body = this.#body;
      this.#body = undefined;
      this.onFrame(this.#bodyType, body);
      data = data.subarray(take);
      if (this.#paused) return this.#hold(data);
    }
    if (this.#carry) {
      data = Buffer.concat([this.#carry, data]);
      this.#carry = undefined;
    }
    let offset = 0;
    while (data.length - offset >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(offset);
      const type = data[offset + 4]!;
      this.#check(length, type);
      const start = offset + FRAME_HEADER_BYTES;
      const end = start + length - 1;
      if (end <= data.length) {
        offset = end;
        this.onFrame(type as FrameType, data.subarray(start, end));
        if (this.#paused) return this.#hold(data.subarray(offset));
        continue;
      }
      this.#body = Buffer.allocUnsafe(length - 1);
      this.#bodyFilled = data.copy(this.#body, 0, start);
      this.#bodyType = type as FrameType;
      return;
    }
    if (offset < data.length) this.#carry = Buffer.from(data.subarray(offset));
  }

  /**
   * Where the next socket read should land (Node's `onread` buffer): the unfilled rest of a
   * frame being assembled, so the kernel copies its bytes into place and nothing else does;
   * otherwise the free part of a slab, parsed in place by pushRead().
   */
  readBuffer(): Buffer {
    if (this.#body && !this.#paused) {
      this.#bodyRead = this.#body.subarray(this.#bodyFilled);
      return this.#bodyRead;
    }
    if (!this.#slab || this.#slab.length - this.#slabUsed < SLAB_MIN_FREE) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.#slabUsed = 0;
    }
    return this.#slab.subarray(this.#slabUsed);
  }

  /** `bytes` bytes were read into `into`, a buffer readBuffer() returned. Throws like push(). */
  pushRead(bytes: number, into: Uint8Array): void {
    const body = this.#body;
    if (body && into === this.#bodyRead) {
      this.#bodyRead = undefined;
      this.#bodyFilled += bytes;
      if (this.#bodyFilled < body.length) return;
      this.#body = undefined;
      this.onFrame(this.#bodyType, body);
      return;
    }
    const slab = this.#slab;
    if (slab && into.buffer === slab.buffer && into.byteOffset === slab.byteOffset + this.#slabUsed) {
      // The slab's used part is never read into again: frames and held bytes stay valid views of it.
      this.#slabUsed += bytes;
      this.push(slab.subarray(this.#slabUsed - bytes, this.#slabUsed));
      return;
    }
    this.push(Buffer.from(into.buffer, into.byteOffset, bytes));
  }

  #hold(rest: Buffer): void {
    if (rest.length > 0) this.#held = rest;
  }

  #check(length: number, type: number): void {
    if (length < 1) throw new ProtocolError('received a frame with length 0 (a frame has at least a type byte)');
    if (length > this.maxFrameBytes) {
      throw new ProtocolError(`received a frame of ${length} bytes, over the limit of ${this.maxFrameBytes} bytes ` + `(raise Cluster option maxFrameBytes if your values really are this large)`);
    }
    if (!KNOWN_TYPES.has(type)) throw new ProtocolError(`received a frame of unknown type 0x${type.toString(16).padStart(2, '0')}`);
  }
}
