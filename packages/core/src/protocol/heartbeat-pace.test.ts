import { describe, expect, it } from 'vitest';
import { HEARTBEAT_PACE_BYTES, decodeHeartbeatPace, encodeHeartbeatPace } from './heartbeat-pace.js';

describe('heartbeat pace on the wire', () => {
  it('round-trips as two big-endian uint32s, and a longer payload is read for its first 8 bytes', () => {
    const body = encodeHeartbeatPace({ heartbeatMs: 20_000, timeoutMs: 120_000 });
    expect(body.length).toBe(HEARTBEAT_PACE_BYTES);
    expect([body.readUInt32BE(0), body.readUInt32BE(4)]).toEqual([20_000, 120_000]);
    expect(decodeHeartbeatPace(body)).toEqual({ heartbeatMs: 20_000, timeoutMs: 120_000 });
    expect(decodeHeartbeatPace(Buffer.concat([body, Buffer.from([1, 2, 3])]))).toEqual({ heartbeatMs: 20_000, timeoutMs: 120_000 });
  });

  it('an empty Heartbeat (a master before 1.4) carries no pace', () => {
    expect(decodeHeartbeatPace(Buffer.alloc(0))).toBeUndefined();
  });

  it('a pace no timer can use is ignored: zero, a timeout not above the interval, over 2^31 - 1 ms', () => {
    const raw = (heartbeatMs: number, timeoutMs: number) => {
      const body = Buffer.alloc(8);
      body.writeUInt32BE(heartbeatMs, 0);
      body.writeUInt32BE(timeoutMs, 4);
      return body;
    };
    expect(decodeHeartbeatPace(raw(0, 1000))).toBeUndefined();
    expect(decodeHeartbeatPace(raw(1000, 1000))).toBeUndefined();
    expect(decodeHeartbeatPace(raw(1000, 2 ** 31))).toBeUndefined();
    expect(decodeHeartbeatPace(raw(1000, 2 ** 31 - 1))).toEqual({ heartbeatMs: 1000, timeoutMs: 2 ** 31 - 1 });
  });
});
