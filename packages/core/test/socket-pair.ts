import net from 'node:net';
import { afterEach } from 'vitest';

let server: net.Server | undefined;
const sockets: net.Socket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.close();
  server = undefined;
});

/** Two ends of one loopback TCP connection, closed after the test. */
export async function socketPair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const accepted = new Promise<net.Socket>((resolve) => {
    server = net.createServer(resolve);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server!.address() as net.AddressInfo).port, '127.0.0.1');
  const serverSide = await accepted;
  sockets.push(client, serverSide);
  return { client, server: serverSide };
}
