// N protocol clients in one process, standing in for N workers: each dials the master,
// runs the real handshake, then heartbeats (one timer for all). The connection settings come
// from the CM_* environment like a real worker's; N is the first argument.
// Prints "joined N" once all are in, then keeps them alive until stdin closes.
import net from 'node:net';
import os from 'node:os';
import { FramedConnection } from '../packages/core/dist/protocol/connection.js';
import { FrameType } from '../packages/core/dist/protocol/frame.js';
import { HANDSHAKE_MAX_FRAME_BYTES, joinMaster } from '../packages/core/dist/protocol/handshake.js';

const count = Number(process.argv[2]);
const { CM_MASTER_HOST: host, CM_MASTER_PORT: port, CM_SECRET: secretText, CM_LAUNCH_ID: launchId } = process.env;
const secret = Buffer.from(secretText, 'base64url');
const CONCURRENT_HANDSHAKES = 256;

const connections = [];
let heartbeatMs = 1000;

async function join(index) {
  const socket = net.connect({ host, port: Number(port) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
  const identity = { launchId, taskIndex: index, jobId: null, host: os.hostname(), pid: process.pid, cpus: 1, nodeVersion: process.version, endsAt: null };
  const welcome = await joinMaster(conn, secret, identity, { timeoutMs: 60_000 });
  heartbeatMs = welcome.heartbeatMs;
  // Like a real worker, leave when the master says Shutdown (else close() waits for each).
  conn.onFrame(({ type }) => {
    if (type === FrameType.Shutdown) conn.end();
  });
  connections.push(conn);
}

let next = 0;
await Promise.all(
  Array.from({ length: Math.min(CONCURRENT_HANDSHAKES, count) }, async () => {
    while (next < count) await join(next++);
  }),
);
process.stdout.write(`joined ${connections.length}\n`);
setInterval(() => {
  for (const conn of connections) conn.send(FrameType.Heartbeat);
}, heartbeatMs);
process.stdin.on('end', () => process.exit(0)).resume();
