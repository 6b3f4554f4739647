// N protocol clients in one process, standing in for N workers: each dials the master,
// runs the real handshake, then heartbeats at the pace the master sets, like a real worker
// (protocol 1.4: the Welcome's, then the one on the master's Heartbeats), with one timer for
// all. The connection settings come from the CM_* environment like a real worker's; N is the
// first argument.
// Prints "joined N cpu S" (S: its CPU seconds so far) once all are in, then keeps them alive until stdin closes.
import net from 'node:net';
import os from 'node:os';
import { FramedConnection } from '../packages/core/dist/protocol/connection.js';
import { FrameType } from '../packages/core/dist/protocol/frame.js';
import { HANDSHAKE_MAX_FRAME_BYTES, joinMaster } from '../packages/core/dist/protocol/handshake.js';
import { decodeHeartbeatPace } from '../packages/core/dist/protocol/heartbeat-pace.js';

const count = Number(process.argv[2]);
const { CM_MASTER_HOST: host, CM_MASTER_PORT: port, CM_SECRET: secretText, CM_LAUNCH_ID: launchId } = process.env;
const secret = Buffer.from(secretText, 'base64url');
const CONCURRENT_HANDSHAKES = 256;
const hostname = os.hostname();

/** Each client's connection and the interval it heartbeats at (the master may change it). */
const clients = [];
/** How often the one timer looks for clients due a heartbeat. */
let tickMs = 1000;

/**
 * Real workers dial from many hosts. From one host, 20,000 connections to one address:port
 * made Linux search its ephemeral ports for each connect (3.9 of the simulator's 7.5 s of CPU
 * at N=19,900), so on loopback each connection gets a source address of its own in 127/8.
 */
const loopback = net.isIPv4(host) && host.startsWith('127.');
function sourceAddress(index) {
  return loopback ? `127.${1 + (index >> 16)}.${(index >> 8) & 0xff}.${1 + ((index & 0xff) % 254)}` : undefined;
}

async function join(index) {
  const socket = net.connect({ host, port: Number(port), localAddress: sourceAddress(index) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
  const identity = { launchId, taskIndex: index, jobId: null, host: hostname, pid: process.pid, cpus: 1, nodeVersion: process.version, endsAt: null };
  const welcome = await joinMaster(conn, secret, identity, { timeoutMs: 60_000 });
  const client = { conn, heartbeatMs: welcome.heartbeatMs };
  tickMs = Math.min(tickMs, welcome.heartbeatMs);
  conn.onFrame(({ type, payload }) => {
    if (type === FrameType.Heartbeat) client.heartbeatMs = decodeHeartbeatPace(payload)?.heartbeatMs ?? client.heartbeatMs;
    // Like a real worker, leave when the master says Shutdown (else close() waits for each).
    if (type === FrameType.Shutdown) conn.end();
  });
  // A real worker heartbeats at once after the Welcome.
  conn.send(FrameType.Heartbeat);
  clients.push(client);
}

let next = 0;
await Promise.all(
  Array.from({ length: Math.min(CONCURRENT_HANDSHAKES, count) }, async () => {
    while (next < count) await join(next++);
  }),
);
// What joining cost this process (the joining side's share of the 2 cores the master also uses).
const { user, system } = process.cpuUsage();
process.stdout.write(`joined ${clients.length} cpu ${(user + system) / 1e6}\n`);
setInterval(() => {
  const now = Date.now();
  // The real worker's rule: a heartbeat after a quiet interval.
  for (const { conn, heartbeatMs } of clients) if (now - conn.lastSentAt >= heartbeatMs * 0.9) conn.send(FrameType.Heartbeat);
}, tickMs);
process.stdin.on('end', () => process.exit(0)).resume();
