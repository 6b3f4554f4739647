/**
 * The compact form of a one-item map call (protocol 1.2+): `pmap` with `batchSize: 1` sends
 * one item per Call, and wrapping it as a one-element list with a `{ values, failures,
 * elapsedMs }` outcome put every item through the V8 serializer twice each way. Here the item
 * is the Call's value itself (a number skips the serializer), and the Result carries the
 * item's outcome in a fixed head. Layouts are in docs/protocol.md; messages.ts routes to here.
 * @module
 */
import { ProtocolError, type SerializedError } from '../errors.js';
import { type EncodedPayload, decodeValue, encodeValue } from './codec.js';
import type { MapOutcome } from './messages.js';

/** The Call mode byte of a one-item map call: the value after the Call's head is the item. */
export const ITEM_MODE_BYTE = 2;

/** Result statuses of a one-item map call (0 and 1 keep their meaning: a value, the call failed). */
export const ItemStatus = {
  /** The item's function returned; the value is what it returned. */
  Value: 2,
  /** The item's function threw; the value is the error (a user error, retried within pmap's budget). */
  Threw: 3,
} as const;

/** Result of a one-item call: uint32 call id, uint8 status (2 or 3), float64 BE elapsed ms, then the value. */
const ITEM_RESULT_HEAD_BYTES = 13;

/** Encode the Result of a one-item call. Throws DataCloneError when the value cannot be cloned. */
export function encodeItemResult(id: number, threw: boolean, value: unknown, elapsedMs: number): EncodedPayload {
  const encoded = encodeValue(value, ITEM_RESULT_HEAD_BYTES);
  const head = Buffer.allocUnsafe(ITEM_RESULT_HEAD_BYTES);
  head.writeUInt32BE(id, 0);
  head[4] = threw ? ItemStatus.Threw : ItemStatus.Value;
  head.writeDoubleBE(elapsedMs, 5);
  return { parts: [head, ...encoded.parts], byteLength: ITEM_RESULT_HEAD_BYTES + encoded.byteLength };
}

/** True for the statuses of a one-item Result (`body[4]`). */
export function isItemStatus(status: number | undefined): boolean {
  return status === ItemStatus.Value || status === ItemStatus.Threw;
}

/** Decode the Result of a one-item call as the outcome of a one-item batch, so pmap treats both alike. */
export function decodeItemResult(body: Buffer, what: string): MapOutcome {
  if (body.length < ITEM_RESULT_HEAD_BYTES + 1) throw new ProtocolError(`item Result frame too short (${body.length} bytes)`);
  const elapsedMs = body.readDoubleBE(5);
  const value = decodeValue(body.subarray(ITEM_RESULT_HEAD_BYTES), what, ITEM_RESULT_HEAD_BYTES);
  if (body[4] === ItemStatus.Value) return { values: [value], failures: [], elapsedMs };
  return { values: [undefined], failures: [[0, value as SerializedError]], elapsedMs };
}
