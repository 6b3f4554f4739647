/**
 * Defect 2 of issue 8: when the Welcome and the first Call arrived in one read, the worker
 * parsed the Call under the 64 KiB pre-authentication limit and exited (code 4, reported as a
 * protocol error). Frames after a handshake step must be judged by the limit set after it.
 */
import { describe, expect, it } from 'vitest';
import { LocalManager } from '../../src/index.js';
import { FramedConnection } from '../../src/protocol/connection.js';
import { FrameReader, FrameType, encodeFrame } from '../../src/protocol/frame.js';
import { HANDSHAKE_MAX_FRAME_BYTES } from '../../src/protocol/handshake.js';
import { socketPair } from '../socket-pair.js';
import { testCluster } from '../helpers.js';

const MiB = 1024 * 1024;
const welcomeThenBigCall = () => Buffer.concat([encodeFrame(FrameType.Welcome, Buffer.from('{}')), encodeFrame(FrameType.Call, Buffer.alloc(MiB, 7))]);

describe('a Welcome and a big first Call in one read (issue 8, defect 2)', () => {
  it('the frame reader, paused after the Welcome, parses the Call under the limit raised after it', () => {
    const frames: Array<[number, number]> = [];
    const reader = new FrameReader((type, payload) => {
      frames.push([type, payload.length]);
      if (type === FrameType.Welcome) reader.pause();
    }, HANDSHAKE_MAX_FRAME_BYTES);
    reader.push(welcomeThenBigCall()); // both frames in one chunk
    expect(frames).toEqual([[FrameType.Welcome, 2]]);
    expect(reader.bufferedBytes).toBe(MiB + 5);
    reader.maxFrameBytes = 2 ** 31;
    reader.resume();
    expect(frames).toEqual([
      [FrameType.Welcome, 2],
      [FrameType.Call, MiB],
    ]);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('a frame reader that is not paused still refuses the big Call under the pre-auth limit (the check can fail)', () => {
    const reader = new FrameReader(() => {}, HANDSHAKE_MAX_FRAME_BYTES);
    expect(() => reader.push(welcomeThenBigCall())).toThrow(/over the limit of 65536 bytes/);
  });

  it('a connection: Welcome and a 1 MiB Call in one TCP write reach the session handler whole', async () => {
    const { client, server } = await socketPair();
    const conn = new FramedConnection(server, HANDSHAKE_MAX_FRAME_BYTES);
    const closed: Array<Error | undefined> = [];
    conn.onClose((error) => closed.push(error));
    client.write(welcomeThenBigCall());
    const welcome = await conn.nextFrame(2_000, 'Welcome');
    expect(welcome.type).toBe(FrameType.Welcome);
    // The rest of the write has arrived by now, yet nothing has been parsed under the old limit.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(conn.closed).toBe(false);
    conn.maxFrameBytes = 2 ** 31;
    const call = await new Promise<{ type: number; length: number }>((resolve) => conn.onFrame(({ type, payload }) => resolve({ type, length: payload.length })));
    expect(call).toEqual({ type: FrameType.Call, length: MiB });
    expect(closed).toEqual([]);
  });

  it('end to end: a 1 MiB first call right after addprocs succeeds, every time', async () => {
    const cluster = testCluster();
    const big = new Uint8Array(MiB).fill(3);
    for (let round = 0; round < 5; round++) {
      const ids = await cluster.addprocs(new LocalManager(2));
      const sums = await Promise.all(ids.map((id) => cluster.remotecallFetch(id, (bytes: Uint8Array) => bytes.reduce((a, b) => a + b, 0), big)));
      expect(sums).toEqual([3 * MiB, 3 * MiB]);
      await cluster.rmprocs(ids);
    }
  }, 60_000);
});
