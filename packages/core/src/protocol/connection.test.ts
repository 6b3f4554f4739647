import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FramedConnection } from './connection.js';
import { FrameType, encodeFrame } from './frame.js';

let server: net.Server | undefined;
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets) s.destroy();
  server?.close();
});

async function connectedPair(): Promise<{ raw: net.Socket; conn: FramedConnection }> {
  const accepted = new Promise<net.Socket>((resolve) => {
    server = net.createServer(resolve);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const raw = net.connect((server!.address() as net.AddressInfo).port, '127.0.0.1');
  const other = await accepted;
  sockets.push(raw, other);
  return { raw, conn: new FramedConnection(other, 1024) };
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
