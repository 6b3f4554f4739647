// Client side of the raw floors: TCP ping-pong, pipelined messages, bulk throughput, process start.
import net from 'node:net';
import { execa } from 'execa';

const here = new URL('.', import.meta.url).pathname;

/** Start the echo server process; returns a connected client socket and a stop function. */
export async function startEchoPeer() {
  const child = execa(process.execPath, [`${here}floor-echo-server.mjs`], { stdin: 'pipe', stdout: 'pipe', reject: false });
  const port = Number(await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim()))));
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  return {
    socket,
    async stop() {
      socket.destroy();
      child.stdin.end();
      await child;
    },
  };
}

function message(bytes) {
  const m = Buffer.alloc(4 + bytes);
  m.writeUInt32BE(bytes, 0);
  return m;
}

/** Round-trip times (ms) of `count` sequential ping-pongs of `bytes`-byte messages. */
export async function rawPingPong(socket, { count, warmup, bytes }) {
  const msg = message(bytes);
  const times = [];
  let waiting = 0;
  let resolveOne;
  socket.on('data', (d) => {
    waiting -= d.length;
    if (waiting <= 0) resolveOne();
  });
  for (let i = 0; i < warmup + count; i++) {
    const started = process.hrtime.bigint();
    waiting = msg.length;
    await new Promise((resolve) => {
      resolveOne = resolve;
      socket.write(msg);
    });
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  socket.removeAllListeners('data');
  return times;
}

/** Messages per second for `count` pipelined messages, counted back from the echo. */
export async function rawPipelined(socket, { count, bytes }) {
  const msg = message(bytes);
  const total = count * msg.length;
  let received = 0;
  const started = process.hrtime.bigint();
  const done = new Promise((resolve) =>
    socket.on('data', (d) => {
      received += d.length;
      if (received >= total) resolve();
    }),
  );
  for (let i = 0; i < count; i += 1000) {
    socket.cork();
    for (let j = i; j < Math.min(count, i + 1000); j++) socket.write(msg);
    socket.uncork();
    if (socket.writableNeedDrain) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await done;
  socket.removeAllListeners('data');
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Seconds for `bytes` to go to the echo peer and all the way back. With `assemble`, the echo
 * lands in one contiguous buffer of its own (fresh memory each time), as any receiver that
 * hands the bytes on as an array must.
 */
export async function rawBulk(socket, bytes, { assemble = false } = {}) {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bytes, 0);
  const body = Buffer.alloc(bytes, 7);
  const started = process.hrtime.bigint();
  const into = assemble ? Buffer.allocUnsafe(bytes + 4) : undefined;
  let received = 0;
  const done = new Promise((resolve) =>
    socket.on('data', (d) => {
      if (into) d.copy(into, received);
      received += d.length;
      if (received >= bytes + 4) resolve();
    }),
  );
  socket.write(header);
  socket.write(body);
  await done;
  socket.removeAllListeners('data');
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds to start `n` `node -e 0` processes at once and see them all exit. */
export async function nodeStart(n) {
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: n }, () => execa(process.execPath, ['-e', '0'])));
  return Number(process.hrtime.bigint() - started) / 1e9;
}
