/**
 * How values are encoded in session frames. Every value starts with a form byte: the common
 * small values (undefined, null, booleans, numbers, an empty argument list) have forms of
 * their own and skip the V8 serializer, whose fixed cost dominates a no-op call; everything
 * else is V8 structured clone, with big typed arrays sent out of band.
 * @module
 */
import v8 from 'node:v8';
import { ProtocolError } from '../errors.js';

/** The form byte that starts every encoded value. */
export const ValueForm = {
  Structured: 0,
  Undefined: 1,
  Null: 2,
  False: 3,
  True: 4,
  /** IEEE 754 double, 8 bytes big-endian. */
  Number: 5,
  /** An empty array (a call without arguments). */
  EmptyArray: 6,
} as const;

/**
 * Typed arrays at least this big travel out of band: their bytes are written to the socket
 * straight from the sender's memory (no copy into the V8 buffer) and arrive 8-byte aligned,
 * so the receiver's view needs no copy either.
 */
export const ATTACHMENT_MIN_BYTES = 64 * 1024;
const OUT_OF_BAND = 0x100;
const ALIGN = 8;
/** Same order as Node's own serializer, so in-band host objects are read the same way. */
const VIEW_TYPES = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, DataView, Buffer, BigInt64Array, BigUint64Array] as const;

function viewTypeIndex(view: ArrayBufferView): number {
  if (view.constructor === Buffer) return 10;
  return VIEW_TYPES.findIndex((ctor) => ctor !== Buffer && view.constructor === ctor);
}

/** Hooks @types/node does not declare on the serializer classes. */
interface HostObjectHooks {
  _writeHostObject(view: ArrayBufferView): void;
  _readHostObject(): unknown;
}

class PayloadSerializer extends v8.DefaultSerializer {
  readonly attachments: Uint8Array[] = [];

  _writeHostObject(view: ArrayBufferView): void {
    const type = viewTypeIndex(view);
    if (view.byteLength < ATTACHMENT_MIN_BYTES || type < 0) {
      (v8.DefaultSerializer.prototype as unknown as HostObjectHooks)._writeHostObject.call(this, view);
      return;
    }
    this.writeUint32(type | OUT_OF_BAND);
    this.writeUint32(this.attachments.length);
    this.attachments.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
}

class PayloadDeserializer extends v8.DefaultDeserializer {
  constructor(
    data: Buffer,
    private readonly attachments: Buffer[],
  ) {
    super(data);
  }

  _readHostObject(): unknown {
    const tag = this.readUint32();
    const ctor = VIEW_TYPES[tag & 0xff];
    if (!ctor) throw new Error(`unknown typed array type ${tag & 0xff}`);
    let bytes: Buffer;
    if (tag & OUT_OF_BAND) {
      const attachment = this.attachments[this.readUint32()];
      if (!attachment) throw new Error('typed array refers to a missing attachment');
      bytes = attachment;
    } else {
      bytes = this.readRawBytes(this.readUint32());
    }
    const size = 'BYTES_PER_ELEMENT' in ctor ? ctor.BYTES_PER_ELEMENT : 1;
    // Views must be aligned to their element size; copy only when the bytes are not.
    if (bytes.byteOffset % size !== 0) bytes = Buffer.from(bytes);
    if (ctor === Buffer) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new (ctor as typeof Uint8Array)(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
  }
}

/** An encoded payload: write `parts` in order; together they are `byteLength` bytes. */
export interface EncodedPayload {
  parts: Uint8Array[];
  byteLength: number;
}

const ZEROS = new Uint8Array(ALIGN);

/**
 * Encode a value in the general form (V8 structured clone with out-of-band attachments),
 * without the form byte:
 * ```
 * uint32 BE  n          attachment count
 * uint32 BE  v8Length   bytes of V8 structured-clone data
 * n × uint32 BE         attachment lengths
 * v8Length bytes        V8 data; big typed arrays in it are host objects pointing at attachments
 * per attachment        zero padding to a multiple of 8 from the start of the frame body, then its bytes
 * ```
 * `bodyOffset` is where the payload starts in the frame body (4 after a call id), so
 * attachments land aligned for the receiver. Throws DataCloneError for uncloneable values.
 */
function encodeStructured(value: unknown, bodyOffset: number): EncodedPayload {
  const serializer = new PayloadSerializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  const data = serializer.releaseBuffer();
  const { attachments } = serializer;
  const head = Buffer.allocUnsafe(8 + 4 * attachments.length);
  head.writeUInt32BE(attachments.length, 0);
  head.writeUInt32BE(data.length, 4);
  attachments.forEach((a, i) => head.writeUInt32BE(a.byteLength, 8 + 4 * i));
  const parts: Uint8Array[] = [head, data];
  let position = bodyOffset + head.length + data.length;
  for (const attachment of attachments) {
    const pad = (ALIGN - (position % ALIGN)) % ALIGN;
    if (pad) parts.push(ZEROS.subarray(0, pad));
    parts.push(attachment);
    position += pad + attachment.byteLength;
  }
  return { parts, byteLength: position - bodyOffset };
}

function decodeStructured(bytes: Buffer, bodyOffset: number): unknown {
  const count = bytes.readUInt32BE(0);
  const dataLength = bytes.readUInt32BE(4);
  let position = 8 + 4 * count;
  const data = bytes.subarray(position, position + dataLength);
  position += dataLength;
  const attachments: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const length = bytes.readUInt32BE(8 + 4 * i);
    position += (ALIGN - ((bodyOffset + position) % ALIGN)) % ALIGN;
    if (position + length > bytes.length) throw new RangeError('attachment runs past the end of the frame');
    attachments.push(bytes.subarray(position, position + length));
    position += length;
  }
  const deserializer = new PayloadDeserializer(data, attachments);
  deserializer.readHeader();
  return deserializer.readValue();
}

const FORM_ONLY: Record<number, Buffer> = Object.fromEntries([ValueForm.Undefined, ValueForm.Null, ValueForm.False, ValueForm.True, ValueForm.EmptyArray].map((form) => [form, Buffer.from([form])]));

/**
 * Encode a value: its form byte, then (for numbers) 8 bytes or (for the structured form) the
 * layout above. `bodyOffset` is where the value starts in the frame body, so attachments can
 * be aligned relative to the body. Throws DataCloneError for values that cannot be cloned.
 */
export function encodeValue(value: unknown, bodyOffset: number): EncodedPayload {
  const small =
    value === undefined
      ? ValueForm.Undefined
      : value === null
        ? ValueForm.Null
        : value === false
          ? ValueForm.False
          : value === true
            ? ValueForm.True
            : Array.isArray(value) && value.length === 0 && Object.getPrototypeOf(value) === Array.prototype
              ? ValueForm.EmptyArray
              : undefined;
  if (small !== undefined) return { parts: [FORM_ONLY[small]!], byteLength: 1 };
  if (typeof value === 'number') {
    const bytes = Buffer.allocUnsafe(9);
    bytes[0] = ValueForm.Number;
    bytes.writeDoubleBE(value, 1);
    return { parts: [bytes], byteLength: 9 };
  }
  const structured = encodeStructured(value, bodyOffset + 1);
  return { parts: [FORM_ONLY_STRUCTURED, ...structured.parts], byteLength: 1 + structured.byteLength };
}

const FORM_ONLY_STRUCTURED = Buffer.from([ValueForm.Structured]);

/** Decode a value (see encodeValue); a ProtocolError names what could not be decoded. */
export function decodeValue(bytes: Buffer, what: string, bodyOffset: number): unknown {
  try {
    switch (bytes[0]) {
      case ValueForm.Structured:
        return decodeStructured(bytes.subarray(1), bodyOffset + 1);
      case ValueForm.Undefined:
        return undefined;
      case ValueForm.Null:
        return null;
      case ValueForm.False:
        return false;
      case ValueForm.True:
        return true;
      case ValueForm.Number:
        return bytes.readDoubleBE(1);
      case ValueForm.EmptyArray:
        return [];
      default:
        throw new Error(`unknown value form ${String(bytes[0])}`);
    }
  } catch (error) {
    throw new ProtocolError(`could not decode ${what} (${bytes.length} bytes): ${(error as Error).message}`, { cause: error });
  }
}
