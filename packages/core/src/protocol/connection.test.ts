import net, { type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { socketPair } from '../../test/socket-pair.js';
import { FramedConnection } from './connection.js';
import { FrameReader, FrameType, encodeFrame } from './frame.js';
import { directReadsOf } from './direct-reads.js';
import { connect } from './transport.js';

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

  it('forgets a close listener when asked (a handshake step that got its frame keeps none)', async () => {
    const { raw, conn } = await connectedPair();
    const kept: string[] = [];
    const forget = conn.onClose(() => kept.push('forgotten one called'));
    conn.onClose(() => kept.push('kept one called'));
    forget();
    raw.destroy();
    await vi.waitFor(() => expect(conn.closed).toBe(true));
    expect(kept).toEqual(['kept one called']);
  });

  it('closes the connection on a bad frame and reports why', async () => {
    const { raw, conn } = await connectedPair();
    const closed = new Promise<Error | undefined>((resolve) => conn.onClose(resolve));
    raw.write(Buffer.from([0, 0, 0x10, 0, FrameType.Output]));
    expect((await closed)?.message).toMatch(/over the limit of 1024 bytes/);
    expect(conn.closed).toBe(true);
  });

  it("sends a tick's small frames in one write, in order, and a big frame after them without copying it", async () => {
    const { raw, conn } = await connectedPair();
    const write = vi.spyOn(conn.socket, 'write');
    const writes = () => write.mock.calls.map(([chunk]) => (chunk as Uint8Array).byteLength);
    conn.maxFrameBytes = 1 << 20;
    const big = new Uint8Array(100 * 1024).fill(7);
    const received: Array<[number, number]> = [];
    const reader = new FrameReader((type, payload) => received.push([type, payload.length]), 1 << 20);
    raw.on('data', (chunk: Buffer) => reader.push(chunk));
    for (let i = 0; i < 50; i++) conn.send(FrameType.Output, Buffer.from([i]));
    expect(writes()).toEqual([]); // held until the tick's microtasks run
    await Promise.resolve();
    expect(writes()).toEqual([50 * 6]);
    conn.send(FrameType.Heartbeat);
    conn.send(FrameType.Output, { parts: [big], byteLength: big.byteLength });
    expect(writes().slice(1)).toEqual([5, 5, big.byteLength]); // the heartbeat first, then the big frame's header and its bytes as they are
    conn.end();
    await new Promise((resolve) => raw.once('end', resolve));
    expect(received).toHaveLength(52);
    expect(received.at(-2)).toEqual([FrameType.Heartbeat, 0]);
    expect(received.at(-1)).toEqual([FrameType.Output, big.byteLength]);
  });

  it('on a socket it dialled, reads frames that came before it was built, a big frame in many pieces, then sees the peer close', async () => {
    const accepted = new Promise<Socket>((resolve) => {
      server = net.createServer(resolve);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const dialled = await connect('127.0.0.1', (server!.address() as net.AddressInfo).port, { encrypt: false, secret: Buffer.alloc(32) });
    expect(directReadsOf(dialled)).toBeDefined();
    const peer = await accepted;
    // The peer speaks first: these bytes can be read before the connection exists.
    peer.write(encodeFrame(FrameType.Hello, Buffer.from('hello')));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const conn = new FramedConnection(dialled, 8 << 20);
    const frames: Array<[number, Buffer]> = [];
    const closed = new Promise<Error | undefined>((resolve) => conn.onClose(resolve));
    conn.onFrame((frame) => frames.push([frame.type, frame.payload]));
    const big = Buffer.alloc(3 << 20).map((_, i) => (i * 7) % 256);
    const bytes = Buffer.concat([encodeFrame(FrameType.Output, big), encodeFrame(FrameType.Output, Buffer.from('after'))]);
    // Pieces of every size, each its own write, so the frame arrives split across many reads.
    for (let offset = 0, size = 1; offset < bytes.length; offset += size, size = (size * 3) % 200_003) peer.write(bytes.subarray(offset, offset + size));
    peer.end();
    expect(await closed).toBeUndefined();
    expect(frames.map(([type, payload]) => [type, payload.length])).toEqual([
      [FrameType.Hello, 5],
      [FrameType.Output, big.length],
      [FrameType.Output, 5],
    ]);
    expect(frames[0]![1].toString()).toBe('hello');
    expect(frames[1]![1].equals(big)).toBe(true);
    expect(frames[2]![1].toString()).toBe('after');
    dialled.destroy();
  });
});

let server: net.Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});
