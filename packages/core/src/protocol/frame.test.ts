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
