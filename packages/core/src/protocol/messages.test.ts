import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { decodePayload, encodePayload } from './messages.js';

describe('payload codec (V8 structured clone)', () => {
  it('round-trips typed arrays, Buffers, Maps, Dates and bigints', () => {
    const value = {
      floats: new Float64Array([1.5, -2, Math.PI]),
      bytes: Buffer.from('hi'),
      map: new Map([['a', 1]]),
      when: new Date(0),
      big: 2n ** 70n,
      nested: [{ deep: new Set([1, 2]) }],
    };
    const back = decodePayload<typeof value>(encodePayload(value), 'test');
    expect(back.floats).toBeInstanceOf(Float64Array);
    expect([...back.floats]).toEqual([1.5, -2, Math.PI]);
    expect(Buffer.from(back.bytes).toString()).toBe('hi');
    expect(back.map.get('a')).toBe(1);
    expect(back.when.getTime()).toBe(0);
    expect(back.big).toBe(2n ** 70n);
    expect([...back.nested[0]!.deep]).toEqual([1, 2]);
  });

  it('refuses to encode a function', () => {
    expect(() => encodePayload({ f: () => 1 })).toThrow(/could not be cloned/);
  });

  it('reports undecodable bytes as a ProtocolError naming what was being decoded', () => {
    expect(() => decodePayload(Buffer.from([0xff, 0x0f, 0x99, 0x99]), 'the result of call 7')).toThrow(ProtocolError);
    expect(() => decodePayload(Buffer.from([0xff, 0x0f, 0x99, 0x99]), 'the result of call 7')).toThrow(/the result of call 7/);
  });
});
