import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { FrameReader, FrameType, encodeFrame } from './frame.js';

function collect(max = 1024) {
  const frames: Array<{ type: number; payload: string }> = [];
  const reader = new FrameReader((type, payload) => frames.push({ type, payload: payload.toString('utf8') }), max);
  return { frames, reader };
}

describe('frame wire format', () => {
  it('writes a big-endian length that counts the type byte, then the type, then the payload', () => {
    const frame = encodeFrame(FrameType.Output, Buffer.from('abc'));
    expect([...frame]).toEqual([0, 0, 0, 4, FrameType.Output, 0x61, 0x62, 0x63]);
  });

  it('reads several frames from one chunk', () => {
    const { frames, reader } = collect();
    reader.push(Buffer.concat([encodeFrame(FrameType.Heartbeat), encodeFrame(FrameType.Output, Buffer.from('x')), encodeFrame(FrameType.Define, Buffer.from('yz'))]));
    expect(frames).toEqual([
      { type: FrameType.Heartbeat, payload: '' },
      { type: FrameType.Output, payload: 'x' },
      { type: FrameType.Define, payload: 'yz' },
    ]);
  });

  it('reassembles a frame delivered one byte at a time', () => {
    const { frames, reader } = collect();
    const bytes = Buffer.concat([encodeFrame(FrameType.Output, Buffer.from('hello')), encodeFrame(FrameType.Heartbeat)]);
    for (const byte of bytes) reader.push(Buffer.from([byte]));
    expect(frames).toEqual([
      { type: FrameType.Output, payload: 'hello' },
      { type: FrameType.Heartbeat, payload: '' },
    ]);
  });

  it('reassembles a large frame split across chunks at awkward offsets', () => {
    const { frames, reader } = collect(1 << 20);
    const payload = Buffer.alloc(300_000, 'q');
    const bytes = Buffer.concat([encodeFrame(FrameType.Output, payload), encodeFrame(FrameType.Output, Buffer.from('tail'))]);
    for (let offset = 0; offset < bytes.length; offset += 65_537) reader.push(bytes.subarray(offset, offset + 65_537));
    expect(frames).toHaveLength(2);
    expect(frames[0]!.payload.length).toBe(300_000);
    expect(frames[1]!.payload).toBe('tail');
  });

  it('rejects a frame over the limit before buffering its payload', () => {
    const { frames, reader } = collect(100);
    const header = Buffer.from([0x7f, 0xff, 0xff, 0xff, FrameType.Output]);
    expect(() => reader.push(header)).toThrow(ProtocolError);
    expect(() => reader.push(header)).toThrow(/over the limit of 100 bytes/);
    expect(frames).toEqual([]);
  });

  it('rejects a zero length and an unknown type', () => {
    expect(() => collect().reader.push(Buffer.from([0, 0, 0, 0, 1]))).toThrow(/length 0/);
    expect(() => collect().reader.push(Buffer.from([0, 0, 0, 1, 0xee]))).toThrow(/unknown type 0xee/);
  });
});

/** Feed `bytes` to the reader the way a socket with `onread` does: each read lands in readBuffer(), `sizes` bytes at most, cycling. */
function readDirect(reader: FrameReader, bytes: Buffer, sizes: number[]): Uint8Array[] {
  const landed: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const into = reader.readBuffer();
    const n = Math.min(sizes[i % sizes.length]!, into.byteLength, bytes.length - offset);
    bytes.copy(into, 0, offset, offset + n);
    landed.push(into);
    reader.pushRead(n, into);
    offset += n;
  }
  return landed;
}

describe('direct reads (readBuffer / pushRead)', () => {
  it('has a frame that spans reads read in place: the delivered payload is the buffer the reads landed in', () => {
    const payloads: Buffer[] = [];
    const reader = new FrameReader((_type, payload) => payloads.push(payload), 1 << 20);
    const big = Buffer.alloc(300_000).map((_, i) => i % 251);
    const bytes = Buffer.concat([encodeFrame(FrameType.Output, Buffer.from('a')), encodeFrame(FrameType.Output, big), encodeFrame(FrameType.Output, Buffer.from('z'))]);
    const landed = readDirect(reader, bytes, [3, 65_536, 1, 4_099, 100_000]);
    expect(payloads.map((p) => p.length)).toEqual([1, 300_000, 1]);
    expect(payloads[1]!.equals(big)).toBe(true);
    // Every read after the big frame's first chunk wrote into the payload's own memory: no copy after the kernel's.
    const intoBody = landed.filter((into) => into.buffer === payloads[1]!.buffer);
    expect(intoBody.length).toBeGreaterThan(3);
    expect(payloads[2]!.toString()).toBe('z');
  });

  it('leaves the bytes of frames already delivered untouched by later reads (payloads are views of the slab)', () => {
    const payloads: Buffer[] = [];
    const reader = new FrameReader((_type, payload) => payloads.push(payload), 1 << 20);
    const frames = Array.from({ length: 3_000 }, (_, i) => encodeFrame(FrameType.Output, Buffer.from(`frame ${i} `.repeat((i % 7) + 1))));
    readDirect(reader, Buffer.concat(frames), [1, 13, 512, 5_000, 70_000]);
    expect(payloads).toHaveLength(3_000);
    payloads.forEach((payload, i) => expect(payload.toString()).toBe(`frame ${i} `.repeat((i % 7) + 1)));
  });

  it('holds what arrives while paused and parses it on resume, under the limit then in force', () => {
    const seen: number[] = [];
    const reader = new FrameReader((type) => {
      seen.push(type);
      if (type === FrameType.Welcome) reader.pause();
    }, 16);
    const bytes = Buffer.concat([encodeFrame(FrameType.Welcome, Buffer.from('w')), encodeFrame(FrameType.Output, Buffer.alloc(1_000, 1))]);
    readDirect(reader, bytes, [bytes.length]);
    expect(seen).toEqual([FrameType.Welcome]);
    reader.maxFrameBytes = 4_096;
    reader.resume();
    expect(seen).toEqual([FrameType.Welcome, FrameType.Output]);
  });

  it('rejects an oversized frame read directly before allocating its body', () => {
    const reader = new FrameReader(() => undefined, 100);
    const into = reader.readBuffer();
    Buffer.from([0x7f, 0xff, 0xff, 0xff, FrameType.Output]).copy(into);
    expect(() => reader.pushRead(5, into)).toThrow(/over the limit of 100 bytes/);
    expect(reader.bufferedBytes).toBe(0);
  });
});
