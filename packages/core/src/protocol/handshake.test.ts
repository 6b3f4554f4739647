import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_TIMER_MS } from '../util/keep-alive.js';
import { socketPair } from '../../test/socket-pair.js';
import { FramedConnection } from './connection.js';
import { FrameType } from './frame.js';
import { PROTOCOL_VERSION, type ProtocolVersion } from './version.js';
import { type Admission, HANDSHAKE_MAX_FRAME_BYTES, type WorkerIdentity, acceptPeer, acceptWorker, diallerFrameChecks, joinMaster, joinPeer } from './handshake.js';

const identity: WorkerIdentity = { launchId: 'L1', taskIndex: 0, jobId: null, host: 'h', pid: 42, cpus: 2, nodeVersion: process.version, endsAt: null };
const admitAll = (): Admission => ({ admit: true, workerId: 2, heartbeatMs: 1000, timeoutMs: 5000, maxFrameBytes: 1 << 20 });
async function pair(): Promise<{ master: FramedConnection; worker: FramedConnection }> {
  const { client, server } = await socketPair();
  return { master: new FramedConnection(server, HANDSHAKE_MAX_FRAME_BYTES), worker: new FramedConnection(client, HANDSHAKE_MAX_FRAME_BYTES) };
}

describe('handshake', () => {
  it('admits a worker holding the secret, and the worker verifies the master', async () => {
    const secret = randomBytes(32);
    const { master, worker } = await pair();
    const [accepted, welcome] = await Promise.all([acceptWorker(master, secret, admitAll, { timeoutMs: 2000 }), joinMaster(worker, secret, identity, { timeoutMs: 2000 })]);
    expect(accepted.identity).toEqual(identity);
    expect(welcome.workerId).toBe(2);
    expect(welcome.version).toEqual(PROTOCOL_VERSION);
  });

  it('between workers: admits a caller holding the secret, and the caller checks it reached the worker it meant', async () => {
    const secret = randomBytes(32);
    const callee = (workerId: number) => ({ admit: true as const, workerId, heartbeatMs: 1000, timeoutMs: 5000, maxFrameBytes: 1 << 20 });
    const first = await pair();
    const [accepted, welcome] = await Promise.all([
      acceptPeer(first.master, secret, () => callee(3), { timeoutMs: 2000 }),
      joinPeer(first.worker, secret, { workerId: 2, target: 3 }, { timeoutMs: 2000 }),
    ]);
    expect(accepted.identity).toEqual({ workerId: 2, target: 3 });
    expect(welcome.workerId).toBe(3);
    // A listener that turns out to be another worker (a stale address) is not trusted with the call.
    const second = await pair();
    const results = await Promise.allSettled([
      acceptPeer(second.master, secret, () => callee(4), { timeoutMs: 2000 }),
      joinPeer(second.worker, secret, { workerId: 2, target: 3 }, { timeoutMs: 2000 }),
    ]);
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'the listener dialled for worker 3 is worker 4' } });
  });

  it("a proof made for the master's handshake is worthless on a worker's listener, and the other way round", async () => {
    const secret = randomBytes(32);
    const toPeer = await pair();
    const asWorker = await Promise.allSettled([acceptPeer(toPeer.master, secret, () => admitAll(), { timeoutMs: 2000 }), joinMaster(toPeer.worker, secret, identity, { timeoutMs: 2000 })]);
    expect(asWorker[0]).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/authentication failed/) } });
    const toMaster = await pair();
    const asPeer = await Promise.allSettled([acceptWorker(toMaster.master, secret, admitAll, { timeoutMs: 2000 }), joinPeer(toMaster.worker, secret, { workerId: 2, target: 2 }, { timeoutMs: 2000 })]);
    expect(asPeer[0]).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/authentication failed/) } });
  });

  it('refuses a worker with the wrong secret, and tells it so', async () => {
    const { master, worker } = await pair();
    const results = await Promise.allSettled([acceptWorker(master, randomBytes(32), admitAll, { timeoutMs: 2000 }), joinMaster(worker, randomBytes(32), identity, { timeoutMs: 2000 })]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/authentication failed/) } });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/refused by peer: authentication failed/) } });
  });

  it('a worker refuses an impostor master that does not hold the secret, even if it admits anyone', async () => {
    const { master, worker } = await pair();
    // The impostor skips checking the worker's proof and answers with a proof it cannot compute.
    master.send(FrameType.Hello, Buffer.from(JSON.stringify({ protocol: 'cm', version: { major: 1, minor: 0 }, nonce: randomBytes(32).toString('base64') })));
    const joining = joinMaster(worker, randomBytes(32), identity, { timeoutMs: 2000 });
    const auth = await master.nextFrame(2000, 'Auth frame');
    expect(auth.type).toBe(FrameType.Auth);
    const welcome = { version: { major: 1, minor: 0 }, proof: randomBytes(32).toString('base64'), workerId: 2, heartbeatMs: 1000, timeoutMs: 5000, maxFrameBytes: 1 << 20 };
    master.send(FrameType.Welcome, Buffer.from(JSON.stringify(welcome)));
    await expect(joining).rejects.toThrow(/the master failed authentication/);
  });

  it('refuses a different protocol major, naming both versions', async () => {
    const secret = randomBytes(32);
    const { master, worker } = await pair();
    const results = await Promise.allSettled([acceptWorker(master, secret, admitAll, { timeoutMs: 2000, version: { major: 2, minor: 3 } }), joinMaster(worker, secret, identity, { timeoutMs: 2000 })]);
    const message = new RegExp(`protocol version mismatch: master speaks 2\\.3, worker speaks ${PROTOCOL_VERSION.major}\\.${PROTOCOL_VERSION.minor}`);
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(message) } });
    expect(results[0].status).toBe('rejected');
  });

  it('interoperates across minor versions, using the lower one', async () => {
    const secret = randomBytes(32);
    const { master, worker } = await pair();
    const [accepted, welcome] = await Promise.all([
      acceptWorker(master, secret, admitAll, { timeoutMs: 2000, version: { major: 1, minor: 4 } }),
      joinMaster(worker, secret, identity, { timeoutMs: 2000, version: { major: 1, minor: 1 } }),
    ]);
    expect(accepted.version).toEqual({ major: 1, minor: 1 });
    expect(welcome.version).toEqual({ major: 1, minor: 1 });
  });

  it('the master decides knowing the session version (so an older worker can get the configured heartbeat pace), and the pace it gives is in the Welcome', async () => {
    const secret = randomBytes(32);
    const { master, worker } = await pair();
    const seen: ProtocolVersion[] = [];
    const decide = (_identity: WorkerIdentity, version: ProtocolVersion): Admission => {
      seen.push(version);
      return { admit: true, workerId: 2, heartbeatMs: version.minor >= 4 ? 20_000 : 5_000, timeoutMs: version.minor >= 4 ? 120_000 : 30_000, maxFrameBytes: 1 << 20 };
    };
    const [accepted, welcome] = await Promise.all([
      acceptWorker(master, secret, decide, { timeoutMs: 2000, version: { major: 1, minor: 4 } }),
      joinMaster(worker, secret, identity, { timeoutMs: 2000, version: { major: 1, minor: 3 } }),
    ]);
    expect(seen).toEqual([{ major: 1, minor: 3 }]);
    expect(accepted.pace).toEqual({ heartbeatMs: 5_000, timeoutMs: 30_000 });
    expect([welcome.heartbeatMs, welcome.timeoutMs]).toEqual([5_000, 30_000]);
  });

  it('every handshake gets fresh nonces (drawn from a pool)', () => {
    const nonces = new Set<string>();
    // Only the Hello is looked at: a connection that records what is sent and never answers.
    const recording = {
      send: (_type: FrameType, payload: Uint8Array) => nonces.add((JSON.parse(Buffer.from(payload).toString('utf8')) as { nonce: string }).nonce),
      nextFrame: () => new Promise(() => {}),
    } as unknown as FramedConnection;
    for (let i = 0; i < 200; i++) void acceptWorker(recording, randomBytes(32), admitAll, { timeoutMs: 2000 });
    // More handshakes than one fill of the pool, all different, each 32 bytes.
    expect(nonces.size).toBe(200);
    for (const nonce of nonces) expect(Buffer.from(nonce, 'base64')).toHaveLength(32);
  });

  it("passes on the master's refusal reason", async () => {
    const secret = randomBytes(32);
    const { master, worker } = await pair();
    const refuse = (): Admission => ({ admit: false, reason: 'launch L1 already has all 2 of its workers' });
    const results = await Promise.allSettled([acceptWorker(master, secret, refuse, { timeoutMs: 2000 }), joinMaster(worker, secret, identity, { timeoutMs: 2000 })]);
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/already has all 2/) } });
  });

  it('a worker refuses a malformed Welcome, naming the field, before trusting anything in it', async () => {
    const { master, worker } = await pair();
    master.send(FrameType.Hello, Buffer.from(JSON.stringify({ protocol: 'cm', version: PROTOCOL_VERSION, nonce: randomBytes(32).toString('base64') })));
    const joining = joinMaster(worker, randomBytes(32), identity, { timeoutMs: 2000 });
    await master.nextFrame(2000, 'Auth frame');
    const welcome = { version: PROTOCOL_VERSION, proof: 'x', workerId: 2, heartbeatMs: 2 ** 31, timeoutMs: 5000, maxFrameBytes: 1 << 20 };
    master.send(FrameType.Welcome, Buffer.from(JSON.stringify(welcome)));
    await expect(joining).rejects.toThrow(/Welcome frame is malformed: `heartbeatMs` must be a number of ms above 0 and at most 2147483647/);
  });
});

// The dialler checks its frames by hand (every worker does on start, and zod is too slow to
// load for that: docs/decisions.md); these are the zod schemas they were written from.
const versionSchema = z.object({ major: z.number().int().nonnegative(), minor: z.number().int().nonnegative() });
const frameSchemas = {
  hello: z.object({ protocol: z.literal('cm'), version: versionSchema, nonce: z.string() }),
  welcome: z.object({
    version: versionSchema,
    proof: z.string(),
    workerId: z.number().int().positive(),
    heartbeatMs: z.number().positive().max(MAX_TIMER_MS),
    timeoutMs: z.number().positive().max(MAX_TIMER_MS),
    maxFrameBytes: z.number().int().positive(),
  }),
  refuse: z.object({ reason: z.string() }),
};

describe("the dialler's frame checks", () => {
  const value = fc.oneof(
    fc.constantFrom(0, 1, 2, -1, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 'cm', 'x', '', null, true),
    fc.record({ major: fc.constantFrom(0, 1, -1, 1.5, '1'), minor: fc.constantFrom(0, 3, -2, 2.5, null) }, { requiredKeys: [] }),
    fc.constant([]),
  );
  // Well-formed frames of every kind, with up to two fields replaced and one left out.
  const wellFormed = { protocol: 'cm', version: { major: 1, minor: 3 }, nonce: 'n', proof: 'p', workerId: 2, heartbeatMs: 1000, timeoutMs: 5000, maxFrameBytes: 1024, reason: 'r' };
  const keys = [...Object.keys(wellFormed), 'extra'];
  const frame = fc.tuple(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 2 }), fc.subarray(keys, { maxLength: 1 })).map(([replaced, dropped]) => {
    const candidate: Record<string, unknown> = { ...wellFormed, ...replaced };
    for (const key of dropped) delete candidate[key];
    return candidate;
  });
  for (const kind of ['hello', 'welcome', 'refuse'] as const) {
    it(`accept exactly the ${kind} frames their zod schema accepts`, () => {
      fc.assert(
        fc.property(frame, (candidate) => {
          expect(diallerFrameChecks[kind](candidate) === undefined).toBe(frameSchemas[kind].safeParse(candidate).success);
        }),
        { numRuns: 3_000 },
      );
    });
  }
});
