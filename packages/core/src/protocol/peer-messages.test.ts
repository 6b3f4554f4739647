// The frames of calls from workers (protocol 1.2): a Request's argument bytes become a Call's
// unchanged (large typed arrays stay aligned attachments), a Result of status 0 becomes a Reply
// by its id alone, and failures carry what the caller needs to rebuild the error.
import { describe, expect, it } from 'vitest';
import {
  REQUEST_HEAD_BYTES,
  ReplyStatus,
  decodeCall,
  decodePeerMessage,
  decodeReply,
  decodeRequestArgs,
  decodeRequestHead,
  encodeCallWithEncodedArgs,
  encodePeerMessage,
  encodeReply,
  encodeRequest,
  encodeResult,
  replyFromResult,
} from './messages.js';
import type { EncodedPayload } from './codec.js';

const body = (payload: EncodedPayload): Buffer => Buffer.concat(payload.parts);

describe('calls from workers on the wire', () => {
  it('a Request decodes to its head and arguments, and its argument bytes are a Call’s as they are, large arrays included', () => {
    const big = new Float64Array(20_000).map((_, i) => i / 4); // 160 KB: an attachment
    const request = body(encodeRequest({ id: 7, target: 3, fnId: 2, kind: 'call', args: [big, 'label', 42] }));
    expect(decodeRequestHead(request)).toEqual({ id: 7, target: 3, fnId: 2, kind: 'call' });
    const args = decodeRequestArgs(request);
    expect(args[1]).toBe('label');
    expect([...(args[0] as Float64Array)].slice(0, 3)).toEqual([0, 0.25, 0.5]);

    const call = decodeCall(body(encodeCallWithEncodedArgs(91, 5, request.subarray(REQUEST_HEAD_BYTES))));
    expect(call).toMatchObject({ id: 91, fnId: 5, mode: 'call' });
    const forwarded = call.args[0] as Float64Array;
    expect(forwarded).toBeInstanceOf(Float64Array);
    expect(forwarded.byteOffset % 8).toBe(0);
    expect(forwarded[19_999]).toBe(19_999 / 4);
    expect(call.args.slice(1)).toEqual(['label', 42]);
  });

  it('a map Request says so', () => {
    const request = body(encodeRequest({ id: 1, target: 1, fnId: 1, kind: 'map', args: [[1, 2], { batchSize: 1 }] }));
    expect(decodeRequestHead(request).kind).toBe('map');
    expect(decodeRequestArgs(request)).toEqual([[1, 2], { batchSize: 1 }]);
  });

  it('a Result of status 0 becomes a Reply with the request’s id, and a failure keeps its description', () => {
    const result = body(encodeResult({ id: 12, ok: true, value: { answer: [1, 2, 3] } }));
    expect(decodeReply(replyFromResult(400, result))).toEqual({ id: 400, ok: true, value: { answer: [1, 2, 3] } });
    const failure = { kind: 'lost', workerId: 3, host: 'node7', reason: 'connection-closed', detail: 'killed' } as const;
    expect(decodeReply(body(encodeReply(9, ReplyStatus.Failure, failure)))).toEqual({ id: 9, ok: false, failure });
  });

  it('Peers and Offer carry one value each', () => {
    expect(decodePeerMessage(body(encodePeerMessage({ joined: [4], left: [2] })), 'peers')).toEqual({ joined: [4], left: [2] });
    expect(decodePeerMessage(body(encodePeerMessage({ id: 1, source: '(x) => x' })), 'offer')).toEqual({ id: 1, source: '(x) => x' });
  });
});
