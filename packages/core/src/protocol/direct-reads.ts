/**
 * Socket reads that land where the frame reader wants them (Node's `onread` option): the
 * kernel writes a big frame's bytes straight into the buffer the frame is assembled in, with
 * no chunk allocated per read and no second copy; small frames are read into a slab and
 * parsed in place. Only sockets this process creates can be made this way (a worker's
 * plain-TCP dial to its master or to another worker); accepted sockets and TLS use 'data'.
 * @module
 */
import type { Socket } from 'node:net';

/** What reads land in and are reported to (FrameReader). */
export interface ReadTarget {
  /** Where the next read should land. */
  readBuffer(): Uint8Array;
  /** `bytes` bytes were read into `into`, a buffer readBuffer() returned (or one of ours from before attach()). */
  pushRead(bytes: number, into: Uint8Array): void;
}

/** Size of the buffers reads land in before a target is attached (Node's own read size). */
const EARLY_READ_BYTES = 64 * 1024;

const bySocket = new WeakMap<Socket, DirectReads>();

/**
 * The `onread` of one socket. Bytes read before a target is attached (the peer can speak
 * first, before the caller has built its connection) are kept and handed over on attach().
 */
export class DirectReads {
  #target: ReadTarget | undefined;
  #early: Buffer[] = [];

  /** Pass as the `onread` option of `net.connect`. */
  readonly onread = {
    buffer: (): Uint8Array => this.#target?.readBuffer() ?? Buffer.allocUnsafe(EARLY_READ_BYTES),
    callback: (bytes: number, into: Uint8Array): boolean => {
      if (this.#target) this.#target.pushRead(bytes, into);
      else this.#early.push(Buffer.from(into.buffer, into.byteOffset, bytes));
      return true;
    },
  };

  /** Remember that `socket` reads through this, for directReadsOf(). */
  bind(socket: Socket): void {
    bySocket.set(socket, this);
  }

  /** Send every read to `target` from now on, starting with what arrived before. Throws what `target` throws. */
  attach(target: ReadTarget): void {
    this.#target = target;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) target.pushRead(chunk.length, chunk);
  }
}

/** The direct reads `socket` was created with, if it was. */
export function directReadsOf(socket: Socket): DirectReads | undefined {
  return bySocket.get(socket);
}
