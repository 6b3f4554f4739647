import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { socketPair } from '../../test/socket-pair.js';
import { FramedConnection } from './connection.js';
import { FrameType, encodeFrame } from './frame.js';

async function connectedPair(): Promise<{ raw: Socket; conn: FramedConnection }> {
  const { client, server } = await socketPair();
  return { raw: client, conn: new FramedConnection(server, 1024) };
}

describe('FramedConnection', () => {
  it('keeps frames that arrive between two handshake steps for the next handler, in order', async () => {
    const { raw, conn } = await connectedPair();
    // One TCP write carrying a handshake reply and the first session frames.
    raw.write(Buffer.concat([encodeFrame(FrameType.Welcome, Buffer.from('w')), encodeFrame(FrameType.Define, Buffer.from('d')), encodeFrame(FrameType.Call, Buffer.from('c'))]));
    const first = await conn.nextFrame(2000, 'Welcome');
    expect(first.type).toBe(FrameType.Welcome);
    await new Promise((r) => setTimeout(r, 50));
    const later: number[] = [];
    conn.onFrame((frame) => later.push(frame.type));
    expect(later).toEqual([FrameType.Define, FrameType.Call]);
  });

  it('closes the connection on a bad frame and reports why', async () => {
    const { raw, conn } = await connectedPair();
    const closed = new Promise<Error | undefined>((resolve) => conn.onClose(resolve));
    raw.write(Buffer.from([0, 0, 0x10, 0, FrameType.Output]));
    expect((await closed)?.message).toMatch(/over the limit of 1024 bytes/);
    expect(conn.closed).toBe(true);
  });
});
