/**
 * Bad input on the port, property-based (fast-check, fixed seed, bounded runs): the frame
 * decoder never crashes, never over-allocates and never loses a frame however its input is
 * cut; the handshake refuses any forged Auth; garbage, oversized, truncated and replayed
 * input closes that one connection and the master keeps serving — with and without TLS.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { LocalManager } from '../../src/index.js';
import { FrameReader, FrameType, encodeFrame } from '../../src/protocol/frame.js';
import { quietLogger, testCluster, waitFor } from '../helpers.js';

const SEED = 20261124;
const types = Object.values(FrameType);

describe('the frame decoder under arbitrary input', () => {
  it('valid frames cut at arbitrary points come out whole and in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...types), fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const wire = Buffer.concat(frames.map(([type, payload]) => encodeFrame(type, payload)));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const seen: Array<[number, string]> = [];
        const reader = new FrameReader((type, payload) => seen.push([type, Buffer.from(payload).toString('hex')]), 1024);
        let last = 0;
        for (const point of [...points, wire.length]) {
          reader.push(wire.subarray(last, point));
          last = point;
        }
        expect(seen).toEqual(frames.map(([type, payload]) => [type, Buffer.from(payload).toString('hex')]));
        expect(reader.bufferedBytes).toBe(0);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('garbage either parses as frames within the limit or throws ProtocolError, never anything else, never buffering over the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2_000 }), (garbage) => {
        const reader = new FrameReader(() => {}, 512);
        try {
          reader.push(Buffer.from(garbage));
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
        expect(reader.bufferedBytes).toBeLessThanOrEqual(512 + 5);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

/** Connect, send `bytes`, and resolve once the master has closed the connection. */
function attack(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('error', () => {});
    socket.resume();
    socket.on('close', () => resolve());
  });
}

describe.each([false, true])('the master port with encrypt: %s', (encrypt) => {
  it('fuzzed handshakes, oversized and truncated frames and a replayed Auth are each refused; the workers keep serving, no call lost', async () => {
    const logger = quietLogger();
    const cluster = testCluster({ encrypt, logger });
    const ids = await cluster.addprocs(new LocalManager(2));
    const { port } = await cluster.listen();
    let rejected = 0;
    cluster.on('peer-rejected', () => rejected++);
    // Calls keep running all through the attack.
    let served = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const results = await Promise.all(ids.map((id) => cluster.remotecallFetch(id, (x: number) => x + 1, served)));
        expect(results).toEqual(ids.map(() => served + 1));
        served++;
      }
    })();
    const auth = (o: object) => encodeFrame(FrameType.Auth, Buffer.from(JSON.stringify(o)));
    const samples = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 4096 }).map((b) => Buffer.from(b)),
        fc.record({ version: fc.record({ major: fc.constant(1), minor: fc.nat(5) }), nonce: fc.base64String(), proof: fc.base64String(), identity: fc.anything() }).map(auth),
        fc.nat({ max: 0xffffffff }).map((n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, FrameType.Auth])),
      ),
      { seed: SEED, numRuns: 60 },
    );
    const replayed = auth({ version: { major: 1, minor: 0 }, nonce: randomBytes(32).toString('base64'), proof: randomBytes(32).toString('base64'), identity: {} });
    const truncated = encodeFrame(FrameType.Auth, Buffer.alloc(1000, 0x7b)).subarray(0, 500);
    try {
      // All at once: the truncated ones are dropped only by the 10 s handshake timeout.
      await Promise.all([...samples, replayed, replayed, truncated].map((bytes) => attack(port, bytes)));
    } finally {
      stop = true;
      await load;
    }
    await waitFor(() => rejected >= samples.length + 3, 15_000, 'every attack to be refused');
    expect(served).toBeGreaterThan(0);
    expect(cluster.workers()).toEqual(ids);
    // Rate-limited: far fewer log lines than rejections.
    expect(logger.warnings.length).toBeLessThan(10);
  }, 60_000);
});
