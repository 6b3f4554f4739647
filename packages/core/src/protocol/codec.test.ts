import { describe, expect, it } from 'vitest';
import { ATTACHMENT_MIN_BYTES, decodeValue, encodeValue } from './codec.js';

/** The encoded value laid out at `at` bytes into a fresh buffer, as a frame body would hold it. */
function layOut(value: unknown, at: number, bodyOffset = 0): Buffer {
  const { parts, byteLength } = encodeValue(value, bodyOffset);
  const memory = Buffer.alloc(at + byteLength);
  let offset = at;
  for (const part of parts) {
    memory.set(part, offset);
    offset += part.byteLength;
  }
  return memory.subarray(at);
}

describe('value codec, typed arrays', () => {
  it('sends only the bytes of a view that is a window on a larger buffer', () => {
    const memory = new ArrayBuffer(1 << 20);
    new Float64Array(memory).forEach((_, i, all) => (all[i] = i));
    const window = new Float64Array(memory, 8 * 3, 10_000);
    const encoded = encodeValue(window, 0);
    const attachment = encoded.parts.find((part) => part.buffer === memory);
    expect(attachment?.byteOffset).toBe(24);
    expect(attachment?.byteLength).toBe(80_000);
    expect(encoded.byteLength).toBeLessThan(81_000);
    const back = decodeValue(layOut(window, 0), 'test', 0) as Float64Array;
    expect(back.length).toBe(10_000);
    expect([back[0], back[9_999]]).toEqual([3, 10_002]);
  });

  it('reads a big typed array back from a body at an unaligned address, as a copy that is aligned', () => {
    const data = new Float64Array(ATTACHMENT_MIN_BYTES / 8 + 3).map((_, i) => i / 4);
    const body = layOut({ data }, 3);
    expect(body.byteOffset % 8).toBe(3);
    const back = (decodeValue(body, 'test', 0) as { data: Float64Array }).data;
    expect(back.byteOffset % 8).toBe(0);
    expect(back.buffer).not.toBe(body.buffer);
    expect(back.length).toBe(data.length);
    expect(back[data.length - 1]).toBe((data.length - 1) / 4);
  });

  it('reads small typed arrays at odd offsets inside the V8 data back correctly', () => {
    const value = { pad: 'x', a: new Int32Array([1, -2, 3]), b: new Float64Array([0.5]), c: new BigInt64Array([-5n]) };
    for (const at of [0, 1, 3, 5]) {
      const back = decodeValue(layOut(value, at), 'test', 0) as typeof value;
      expect([...back.a]).toEqual([1, -2, 3]);
      expect([...back.b]).toEqual([0.5]);
      expect([...back.c]).toEqual([-5n]);
    }
  });

  it('round-trips zero-length typed arrays, Buffers and views, including an empty view inside a bigger buffer', () => {
    const value = { f: new Float64Array(0), b: Buffer.alloc(0), v: new Uint32Array(new ArrayBuffer(64), 4, 0), d: new DataView(new ArrayBuffer(8), 8, 0) };
    const back = decodeValue(layOut(value, 1), 'test', 0) as typeof value;
    expect(back.f).toBeInstanceOf(Float64Array);
    expect(back.f.length).toBe(0);
    expect(Buffer.isBuffer(back.b) && back.b.length).toBe(0);
    expect(back.v).toBeInstanceOf(Uint32Array);
    expect(back.v.length).toBe(0);
    expect(back.d.byteLength).toBe(0);
  });

  it('keeps several attachments apart and each aligned to the frame body', () => {
    const one = new Uint8Array(ATTACHMENT_MIN_BYTES + 1).fill(1);
    const two = new Float64Array(ATTACHMENT_MIN_BYTES / 8).fill(2);
    const three = new Int16Array(new ArrayBuffer(ATTACHMENT_MIN_BYTES * 2 + 2), 2, ATTACHMENT_MIN_BYTES).fill(-3);
    // The value starts 9 bytes into the body, like a Call's arguments.
    const body = layOut([one, two, three], 0, 9);
    const memory = Buffer.alloc(9 + body.length);
    body.copy(memory, 9);
    const [a, b, c] = decodeValue(memory.subarray(9), 'test', 9) as [Uint8Array, Float64Array, Int16Array];
    expect([a.length, a[ATTACHMENT_MIN_BYTES]]).toEqual([ATTACHMENT_MIN_BYTES + 1, 1]);
    expect([b.length, b[0], b.buffer === memory.buffer, b.byteOffset % 8]).toEqual([ATTACHMENT_MIN_BYTES / 8, 2, true, 0]);
    expect([c.length, c[ATTACHMENT_MIN_BYTES - 1], c.buffer === memory.buffer]).toEqual([ATTACHMENT_MIN_BYTES, -3, true]);
  });
});
