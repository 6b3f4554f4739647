import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { ValueForm, decodeValue, encodeValue } from './codec.js';
import { decodeCall, decodeResult, encodeCall, encodeResult, messageId } from './messages.js';

function flatten(parts: Uint8Array[], prefix = 0): Buffer {
  const total = parts.reduce((n, p) => n + p.byteLength, prefix);
  const body = Buffer.alloc(total);
  let offset = prefix;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}

describe('value codec', () => {
  it('round-trips typed arrays, Buffers, Maps, Dates and bigints through V8 structured clone', () => {
    const value = {
      floats: new Float64Array([1.5, -2, Math.PI]),
      bytes: Buffer.from('hi'),
      map: new Map([['a', 1]]),
      when: new Date(0),
      big: 2n ** 70n,
      nested: [{ deep: new Set([1, 2]) }],
    };
    const back = decodeValue(flatten(encodeValue(value, 0).parts), 'test', 0) as typeof value;
    expect(back.floats).toBeInstanceOf(Float64Array);
    expect([...back.floats]).toEqual([1.5, -2, Math.PI]);
    expect(Buffer.isBuffer(back.bytes) && back.bytes.toString()).toBe('hi');
    expect(back.map.get('a')).toBe(1);
    expect(back.when.getTime()).toBe(0);
    expect(back.big).toBe(2n ** 70n);
    expect([...back.nested[0]!.deep]).toEqual([1, 2]);
  });

  it('gives small common values a form of their own, without V8', () => {
    for (const [value, form] of [
      [undefined, ValueForm.Undefined],
      [null, ValueForm.Null],
      [true, ValueForm.True],
      [false, ValueForm.False],
      [[], ValueForm.EmptyArray],
      [-0.25, ValueForm.Number],
    ] as const) {
      const encoded = flatten(encodeValue(value, 0).parts);
      expect(encoded[0]).toBe(form);
      expect(decodeValue(encoded, 'test', 0)).toEqual(value);
    }
    expect(flatten(encodeValue(NaN, 0).parts).length).toBe(9);
    expect(decodeValue(flatten(encodeValue(NaN, 0).parts), 'test', 0)).toBeNaN();
  });

  it('sends big typed arrays out of band, aligned, and reads them back without a copy', () => {
    const big = new Float64Array(20_000).map((_, i) => i * 0.5);
    const small = new Int16Array([1, -2, 3]);
    // The value starts 5 bytes into the frame body, like a Result's value.
    const encoded = encodeValue({ big, small, bytes: Buffer.alloc(100_000, 9) }, 5);
    expect(encoded.parts.some((part) => part.buffer === big.buffer)).toBe(true);
    const body = flatten(encoded.parts, 5);
    const back = decodeValue(body.subarray(5), 'test', 5) as { big: Float64Array; small: Int16Array; bytes: Buffer };
    expect(back.big[19_999]).toBe(9_999.5);
    expect(back.big.buffer).toBe(body.buffer);
    expect(back.big.byteOffset % 8).toBe(0);
    expect([...back.small]).toEqual([1, -2, 3]);
    expect(Buffer.isBuffer(back.bytes)).toBe(true);
    expect(back.bytes.length).toBe(100_000);
  });

  it('refuses to encode a function', () => {
    expect(() => encodeValue({ f: () => 1 }, 0)).toThrow(/could not be cloned/);
  });

  it('reports undecodable bytes as a ProtocolError naming what was being decoded', () => {
    const garbage = Buffer.from([ValueForm.Structured, 0, 0, 0, 0, 0, 0, 0, 4, 0xff, 0x0f, 0x99, 0x99]);
    expect(() => decodeValue(garbage, 'the result of call 7', 0)).toThrow(ProtocolError);
    expect(() => decodeValue(garbage, 'the result of call 7', 0)).toThrow(/the result of call 7/);
    expect(() => decodeValue(Buffer.from([0x77]), 'x', 0)).toThrow(/unknown value form 119/);
  });
});

describe('Call and Result messages', () => {
  it('carry the call id in front, readable even when the rest is garbage', () => {
    const call = flatten(encodeCall({ id: 77, fnId: 3, mode: 'map', args: [1, 'two'] }).parts);
    expect(decodeCall(call)).toEqual({ id: 77, fnId: 3, mode: 'map', args: [1, 'two'] });
    const broken = Buffer.concat([call.subarray(0, 9), Buffer.from([ValueForm.Structured, 1, 2])]);
    expect(messageId(broken)).toBe(77);
    expect(() => decodeCall(broken)).toThrow(/could not decode the arguments of call 77/);
  });

  it('round-trip values and errors', () => {
    const ok = flatten(encodeResult({ id: 5, ok: true, value: { a: [1, 2] } }).parts);
    expect(decodeResult(ok, 'r')).toEqual({ id: 5, ok: true, value: { a: [1, 2] } });
    const failed = flatten(encodeResult({ id: 6, ok: false, error: { name: 'TypeError', message: 'bad' } }).parts);
    expect(decodeResult(failed, 'r')).toEqual({ id: 6, ok: false, error: { name: 'TypeError', message: 'bad' } });
  });
});
