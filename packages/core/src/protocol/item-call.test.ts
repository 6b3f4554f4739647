import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { ValueForm } from './codec.js';
import { ItemStatus, encodeItemResult } from './item-call.js';
import { decodeCall, decodeResult, encodeCall, encodeResult } from './messages.js';

function flatten(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

describe('one-item map calls (protocol 1.2)', () => {
  it('carry the item itself after the head, a number without the V8 serializer', () => {
    const body = flatten(encodeCall({ id: 7, fnId: 3, mode: 'item', args: [42.5] }).parts);
    expect(body[8]).toBe(2);
    expect(body[9]).toBe(ValueForm.Number);
    expect(body.length).toBe(9 + 9);
    expect(decodeCall(body)).toEqual({ id: 7, fnId: 3, mode: 'item', args: [42.5] });
  });

  it('carry any clonable item, a list included, as one argument', () => {
    const item = [1, { a: 'b' }];
    const decoded = decodeCall(flatten(encodeCall({ id: 1, fnId: 1, mode: 'item', args: [item] }).parts));
    expect(decoded.args).toEqual([item]);
  });

  it("answer with the item's value and the time it took, read as a one-item batch outcome", () => {
    const body = flatten(encodeItemResult(9, false, 'done', 1.25).parts);
    expect(body[4]).toBe(ItemStatus.Value);
    expect(decodeResult(body, 'test')).toEqual({ id: 9, ok: true, value: { values: ['done'], failures: [], elapsedMs: 1.25 } });
  });

  it('answer a throwing item as a failure of position 0 (a user error pmap retries), not as a failed call', () => {
    const error = { name: 'RangeError', message: 'bad item' };
    const decoded = decodeResult(flatten(encodeItemResult(4, true, error, 0.5).parts), 'test');
    expect(decoded).toEqual({ id: 4, ok: true, value: { values: [undefined], failures: [[0, error]], elapsedMs: 0.5 } });
  });

  it('leave the older statuses as they were', () => {
    expect(decodeResult(flatten(encodeResult({ id: 2, ok: false, error: { name: 'Error', message: 'no such function' } }).parts), 'test')).toMatchObject({ ok: false });
    expect(decodeResult(flatten(encodeResult({ id: 2, ok: true, value: 5 }).parts), 'test')).toEqual({ id: 2, ok: true, value: 5 });
  });

  it('refuse a truncated item Result with a ProtocolError', () => {
    const body = flatten(encodeItemResult(9, false, 1, 1).parts).subarray(0, 10);
    expect(() => decodeResult(body, 'test')).toThrow(ProtocolError);
  });
});
