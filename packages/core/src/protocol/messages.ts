/**
 * The session messages: what each frame type carries, byte by byte. Values inside them are
 * encoded by codec.ts; frames themselves by frame.ts; the handshake lives in handshake.ts.
 * @module
 */
import { ProtocolError, type SerializedError } from '../errors.js';
import { type EncodedPayload, decodeValue, encodeValue } from './codec.js';
import { ITEM_MODE_BYTE, decodeItemResult, isItemStatus } from './item-call.js';

/**
 * How a Define names its function: source to compile, or a module export to import.
 * `importer` (optional; older workers ignore it) is the file that called `moduleFunction`,
 * named when the import fails.
 */
export type FunctionDefinition = { source: string } | { module: string; name: string; importer?: string | undefined };

/** Define (0x12): value `{ id, source }` or `{ id, module, name }`. */
export type DefineMessage = { id: number } & FunctionDefinition;

/**
 * `call`: run `fn(...args)` and send back its value.
 * `map`: run `fn(item)` for each element of `args` in order and send back all values (pmap batches).
 * `item` (1.2+): a map batch of one item, `args` being `[item]`, in the compact form of item-call.ts.
 */
export type CallMode = 'call' | 'map' | 'item';
const MODE_BYTES: Record<CallMode, number> = { call: 0, map: 1, item: ITEM_MODE_BYTE };

export interface CallMessage {
  id: number;
  fnId: number;
  mode: CallMode;
  args: unknown[];
}

/** Outcome of one item of a `map` call that threw. */
export type MapFailure = [index: number, error: SerializedError];

export interface MapOutcome {
  values: unknown[];
  failures: MapFailure[];
  /** Time the worker spent running the batch, for pmap's automatic batch sizing. */
  elapsedMs: number;
}

export type ResultMessage = { id: number } & ({ ok: true; value: unknown } | { ok: false; error: SerializedError });

export interface OutputMessage {
  stream: 'stdout' | 'stderr';
  lines: string[];
}

export interface ShutdownMessage {
  reason: string;
}

/** Cancel (0x16, protocol 1.1+): the caller gave up on call `id`; `reason` is what its AbortSignal said. */
export interface CancelMessage {
  id: number;
  reason: { name: string; message: string };
}

/** Call: uint32 call id, uint32 function id, uint8 mode (0 call, 1 map), then the argument list as a value. */
const CALL_HEAD_BYTES = 9;
/** Result: uint32 call id, uint8 status (0 value, 1 error), then the value or the error as a value. */
const RESULT_HEAD_BYTES = 5;

function prepend(head: Buffer, value: EncodedPayload): EncodedPayload {
  return { parts: [head, ...value.parts], byteLength: head.length + value.byteLength };
}

/** Encode a Call. Throws DataCloneError when an argument cannot be cloned. */
export function encodeCall(call: CallMessage): EncodedPayload {
  const args = encodeValue(call.mode === 'item' ? call.args[0] : call.args, CALL_HEAD_BYTES);
  const head = Buffer.allocUnsafe(CALL_HEAD_BYTES);
  head.writeUInt32BE(call.id, 0);
  head.writeUInt32BE(call.fnId, 4);
  head[8] = MODE_BYTES[call.mode];
  return prepend(head, args);
}

/** The call id of a Call or Result frame, readable even when the rest does not decode. */
export function messageId(body: Buffer): number {
  if (body.length < 4) throw new ProtocolError(`frame too short (${body.length} bytes) to hold a call id`);
  return body.readUInt32BE(0);
}

export function decodeCall(body: Buffer): CallMessage {
  if (body.length < CALL_HEAD_BYTES + 1) throw new ProtocolError(`Call frame too short (${body.length} bytes)`);
  const id = body.readUInt32BE(0);
  if (body[8] === ITEM_MODE_BYTE) return { id, fnId: body.readUInt32BE(4), mode: 'item', args: [decodeValue(body.subarray(CALL_HEAD_BYTES), `the item of call ${id}`, CALL_HEAD_BYTES)] };
  const mode = body[8] === 1 ? 'map' : 'call';
  const args = decodeValue(body.subarray(CALL_HEAD_BYTES), `the arguments of call ${id}`, CALL_HEAD_BYTES);
  if (!Array.isArray(args)) throw new ProtocolError(`the arguments of call ${id} are not a list`);
  return { id, fnId: body.readUInt32BE(4), mode, args };
}

/** Encode a Result. Throws DataCloneError when the value cannot be cloned. */
export function encodeResult(result: ResultMessage): EncodedPayload {
  const value = encodeValue(result.ok ? result.value : result.error, RESULT_HEAD_BYTES);
  const head = Buffer.allocUnsafe(RESULT_HEAD_BYTES);
  head.writeUInt32BE(result.id, 0);
  head[4] = result.ok ? 0 : 1;
  return prepend(head, value);
}

export function decodeResult(body: Buffer, what: string): ResultMessage {
  if (body.length < RESULT_HEAD_BYTES + 1) throw new ProtocolError(`Result frame too short (${body.length} bytes)`);
  const id = body.readUInt32BE(0);
  if (isItemStatus(body[4])) return { id, ok: true, value: decodeItemResult(body, what) };
  const value = decodeValue(body.subarray(RESULT_HEAD_BYTES), what, RESULT_HEAD_BYTES);
  return body[4] === 0 ? { id, ok: true, value } : { id, ok: false, error: value as SerializedError };
}

/** Cancel: uint32 call id, then `{ name, message }` as a value. */
export function encodeCancel(cancel: CancelMessage): EncodedPayload {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(cancel.id, 0);
  return prepend(head, encodeValue(cancel.reason, 4));
}

export function decodeCancel(body: Buffer): CancelMessage {
  const id = messageId(body);
  const reason = decodeValue(body.subarray(4), `the reason of cancelling call ${id}`, 4) as Partial<CancelMessage['reason']> | undefined;
  return { id, reason: { name: String(reason?.name ?? 'AbortError'), message: String(reason?.message ?? 'the call was cancelled by its caller') } };
}

/** Define, Output and Shutdown carry one value each. */
export function encodeMessage(message: DefineMessage | OutputMessage | ShutdownMessage): EncodedPayload {
  return encodeValue(message, 0);
}

export function decodeMessage<T extends DefineMessage | OutputMessage | ShutdownMessage>(body: Buffer, what: string): T {
  return decodeValue(body, what, 0) as T;
}

/**
 * What a worker says about itself on a Heartbeat (optional; an empty Heartbeat is as valid as
 * ever, and a receiver that does not know the payload ignores it): CPU use since its previous
 * report, in percent of one core (above 100 when several threads ran), and its resident set size.
 */
export interface HeartbeatStats {
  cpuPercent: number;
  rssBytes: number;
}

/** Heartbeat with stats: uint32 BE CPU use in hundredths of a percent of one core, uint32 BE RSS in KiB. Longer payloads: the rest is reserved. */
export const HEARTBEAT_STATS_BYTES = 8;
const UINT32_MAX = 0xffff_ffff;

export function encodeHeartbeatStats({ cpuPercent, rssBytes }: HeartbeatStats): Buffer {
  const body = Buffer.allocUnsafe(HEARTBEAT_STATS_BYTES);
  body.writeUInt32BE(Math.min(UINT32_MAX, Math.max(0, Math.round(cpuPercent * 100))), 0);
  body.writeUInt32BE(Math.min(UINT32_MAX, Math.max(0, Math.round(rssBytes / 1024))), 4);
  return body;
}

/** The stats of a Heartbeat, or undefined for an empty one (older workers, or none to report). */
export function decodeHeartbeatStats(body: Buffer): HeartbeatStats | undefined {
  if (body.length < HEARTBEAT_STATS_BYTES) return undefined;
  return { cpuPercent: body.readUInt32BE(0) / 100, rssBytes: body.readUInt32BE(4) * 1024 };
}

export type { EncodedPayload };

// ---- Calls from workers (protocol 1.2+): Request, Reply, Peers, Offer. See docs/protocol.md section 5.1.

/** What a Request asks for: `call` runs `fn(...args)` on the target; `map` runs a pmap of `fn` over `args[0]` with options `args[1]` on the cluster's workers. */
export type RequestKind = 'call' | 'map';
const REQUEST_KIND_BYTES: Record<RequestKind, number> = { call: 0, map: 1 };

export interface RequestMessage {
  /** Chosen by the worker, per connection. */
  id: number;
  /** A process id: 1 the master, 2… a worker (for `map`: 1). */
  target: number;
  /** A function id of the worker's own Offers. */
  fnId: number;
  kind: RequestKind;
  args: unknown[];
}

/**
 * Request: uint32 request id, uint32 target, uint32 function id, uint8 kind, 4 reserved zero
 * bytes, then the argument list as a value. 17 bytes, so the value sits where a Call's (9
 * bytes of head) does modulo 8, and the master forwards its bytes unchanged (attachments stay aligned).
 */
export const REQUEST_HEAD_BYTES = 17;
/** Reply: uint32 request id, uint8 status, then a value; statuses 0 and 1 are laid out as a Result is, so a Result is forwarded by rewriting its id. */
export const REPLY_HEAD_BYTES = 5;

/**
 * Reply status: 0 the value (a Result of status 0, forwarded with the request's id); 2 a
 * failure the master describes ({@link ReplyFailure}: an exception on the target with the
 * target's host, a lost target, a refusal). 1 is reserved (a Result's error status).
 */
export const ReplyStatus = { Value: 0, Failure: 2 } as const;

/** Why a Request failed, as the master tells it (Reply status 2). */
export type ReplyFailure =
  | { kind: 'remote'; workerId: number; host: string; error: SerializedError }
  | { kind: 'lost'; workerId: number; host: string | undefined; reason: string; detail?: string | undefined }
  | { kind: 'master'; error: SerializedError };

export function encodeRequest(request: RequestMessage): EncodedPayload {
  const args = encodeValue(request.args, REQUEST_HEAD_BYTES);
  const head = Buffer.alloc(REQUEST_HEAD_BYTES);
  head.writeUInt32BE(request.id, 0);
  head.writeUInt32BE(request.target, 4);
  head.writeUInt32BE(request.fnId, 8);
  head[12] = REQUEST_KIND_BYTES[request.kind];
  return prepend(head, args);
}

/** The head of a Request; the argument list stays encoded (`body.subarray(REQUEST_HEAD_BYTES)`) until someone needs it. */
export function decodeRequestHead(body: Buffer): Omit<RequestMessage, 'args'> {
  if (body.length < REQUEST_HEAD_BYTES + 1) throw new ProtocolError(`Request frame too short (${body.length} bytes)`);
  return { id: body.readUInt32BE(0), target: body.readUInt32BE(4), fnId: body.readUInt32BE(8), kind: body[12] === 1 ? 'map' : 'call' };
}

export function decodeRequestArgs(body: Buffer): unknown[] {
  const id = messageId(body);
  const args = decodeValue(body.subarray(REQUEST_HEAD_BYTES), `the arguments of request ${id}`, REQUEST_HEAD_BYTES);
  if (!Array.isArray(args)) throw new ProtocolError(`the arguments of request ${id} are not a list`);
  return args;
}

/**
 * A Call whose argument list is already encoded (the bytes after a Request's head): the value
 * is reused as it is, which is why a Request's head is 17 bytes (9 + 8).
 */
export function encodeCallWithEncodedArgs(id: number, fnId: number, encodedArgs: Buffer): EncodedPayload {
  const head = Buffer.allocUnsafe(CALL_HEAD_BYTES);
  head.writeUInt32BE(id, 0);
  head.writeUInt32BE(fnId, 4);
  head[8] = MODE_BYTES.call;
  return { parts: [head, encodedArgs], byteLength: head.length + encodedArgs.length };
}

/** A Reply made from a Result payload (status 0 or 1): the same bytes (not copied; the Result is not read again) with the request's id over the call's. */
export function replyFromResult(requestId: number, result: Buffer): Buffer {
  result.writeUInt32BE(requestId, 0);
  return result;
}

export function encodeReply(id: number, status: (typeof ReplyStatus)[keyof typeof ReplyStatus], value: unknown): EncodedPayload {
  const head = Buffer.allocUnsafe(REPLY_HEAD_BYTES);
  head.writeUInt32BE(id, 0);
  head[4] = status;
  return prepend(head, encodeValue(value, REPLY_HEAD_BYTES));
}

export type ReplyMessage = { id: number } & ({ ok: true; value: unknown } | { ok: false; failure: ReplyFailure });

export function decodeReply(body: Buffer): ReplyMessage {
  if (body.length < REPLY_HEAD_BYTES + 1) throw new ProtocolError(`Reply frame too short (${body.length} bytes)`);
  const id = body.readUInt32BE(0);
  const value = decodeValue(body.subarray(REPLY_HEAD_BYTES), `the reply to request ${id}`, REPLY_HEAD_BYTES);
  if (body[4] === ReplyStatus.Value) return { id, ok: true, value };
  if (body[4] === ReplyStatus.Failure) return { id, ok: false, failure: value as ReplyFailure };
  throw new ProtocolError(`the reply to request ${id} has an unknown status ${String(body[4])}`);
}

/** A worker's listening address for direct calls (`topology: 'all_to_all'`): id, host, port. */
export type DirectAddress = [workerId: number, host: string, port: number];

/**
 * Peers: the workers now (`all`, sent first), or what changed since the last Peers (`joined`,
 * `left`). Ids, and (1.3+, `topology: 'all_to_all'`) in `direct` the listening addresses of
 * workers that announced one since (older workers ignore the field).
 */
export type PeersMessage = ({ all: number[] } | { joined: number[]; left: number[] }) & { direct?: DirectAddress[] | undefined };

/** Direct (1.3+): master → worker `{ listen: true }`; worker → master the address it listens on. */
export type DirectMessage = { listen: true } | { host: string; port: number };

/** Offer: a function of the worker's, `{ id, source }` or `{ id, module, name, importer? }` (ids are the worker's own). */
export type OfferMessage = DefineMessage;

/** Peers and Offer carry one value each. */
export function encodePeerMessage(message: PeersMessage | OfferMessage | DirectMessage): EncodedPayload {
  return encodeValue(message, 0);
}

export function decodePeerMessage<T extends PeersMessage | OfferMessage | DirectMessage>(body: Buffer, what: string): T {
  return decodeValue(body, what, 0) as T;
}
