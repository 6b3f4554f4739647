/**
 * The handshake: version negotiation and mutual HMAC challenge–response.
 *
 * ```
 * master → worker  Hello    {protocol:"cm", version:{major,minor}, nonce}
 * worker → master  Auth     {version, nonce, proof: HMAC(secret, "cm-worker" ‖ nonceM ‖ nonceW), identity}
 * master → worker  Welcome  {version, proof: HMAC(secret, "cm-master" ‖ nonceW ‖ nonceM), workerId, heartbeatMs, timeoutMs, maxFrameBytes}
 * either way       Refuse   {reason}  — then the sender closes
 * ```
 * Payloads are UTF-8 JSON; nonces and proofs are base64. The secret never crosses the wire:
 * each side proves it holds it over the other side's fresh nonce, so neither a replayed
 * Auth nor an impostor master gets anywhere. The worker runs nothing until the master's
 * proof checks out.
 *
 * A direct connection between workers (`topology: 'all_to_all'`, protocol 1.3+) runs the same
 * exchange with the callee in the master's place and its own role names ("cm-peer-caller",
 * "cm-peer-callee"), so a proof made for one kind of connection is worthless on the other:
 * the Auth carries `{ workerId, target }` (the caller's id and the worker it meant to reach)
 * and the Welcome the callee's id, which the caller checks is the worker it dialled.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ProtocolError } from '../errors.js';
import { MAX_TIMER_MS } from '../util/keep-alive.js';
import type { FramedConnection } from './connection.js';
import { FrameType } from './frame.js';
import type { HeartbeatPace } from './heartbeat-pace.js';
import { PROTOCOL_VERSION, type ProtocolVersion, versionMismatchMessage } from './version.js';

/** Frames before authentication are small; anything bigger is an attack or garbage. */
export const HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;

/**
 * A peer has this long to complete the handshake — the TLS one when encrypting, and then the
 * @cm one (docs/protocol.md, section 2) — before it is dropped. The master's listener and a
 * worker's (direct connections) both use it.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

const NONCE_BYTES = 32;

/** Nonces drawn from one fill of the pool: one call into OpenSSL per 64 handshakes instead of one each. */
const NONCES_PER_FILL = 64;
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

/**
 * 32 fresh random bytes. Taken from a pool of CSPRNG output, each slice handed out once: as
 * random as a call of their own, without a call into OpenSSL per handshake (at 20,000 workers
 * joining, that call was a measurable share of both the master's and the joining side's work).
 */
function freshNonce(): Buffer {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * NONCES_PER_FILL);
    nonceOffset = 0;
  }
  const nonce = noncePool.subarray(nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}

const versionSchema = z.object({ major: z.number().int().nonnegative(), minor: z.number().int().nonnegative() });

/** Who a worker says it is. Trusted only once its proof has been checked. */
export const workerIdentitySchema = z.object({
  launchId: z.string().min(1).max(200),
  taskIndex: z.number().int().nonnegative().nullable(),
  jobId: z.string().max(200).nullable(),
  host: z.string().max(255),
  pid: z.number().int().positive(),
  cpus: z.number().int().positive(),
  nodeVersion: z.string().max(50),
  /** Unix ms when the worker's job must end (scheduler walltime), when known. */
  endsAt: z.number().nullable().default(null),
});
export type WorkerIdentity = z.infer<typeof workerIdentitySchema>;

/** Who a worker dialling another worker directly says it is, and whom it meant to reach. */
export const peerIdentitySchema = z.object({ workerId: z.number().int().positive(), target: z.number().int().positive() }).strict();
export type PeerIdentity = z.infer<typeof peerIdentitySchema>;

/** The proof labels of each kind of connection: who dials proves with `dialler`, who listens with `listener`. */
const ROLES = {
  master: { dialler: 'cm-worker', listener: 'cm-master' },
  peer: { dialler: 'cm-peer-caller', listener: 'cm-peer-callee' },
} as const;
type Roles = (typeof ROLES)[keyof typeof ROLES];

const helloSchema = z.object({ protocol: z.literal('cm'), version: versionSchema, nonce: z.string() });
const authSchema = z.object({ version: versionSchema, nonce: z.string(), proof: z.string(), identity: z.unknown() });
const welcomeSchema = z.object({
  version: versionSchema,
  proof: z.string(),
  workerId: z.number().int().positive(),
  // A worker arms timers with these: Node clamps delays over 2^31 − 1 ms to 1 ms.
  heartbeatMs: z.number().positive().max(MAX_TIMER_MS),
  timeoutMs: z.number().positive().max(MAX_TIMER_MS),
  maxFrameBytes: z.number().int().positive(),
});
const refuseSchema = z.object({ reason: z.string() });

export type Welcome = z.infer<typeof welcomeSchema>;

/**
 * What the master decides once a worker has proven itself: its id and, for the Welcome, the
 * heartbeat pace it starts with and the frame limit.
 */
export type Admission = { admit: true; workerId: number; heartbeatMs: number; timeoutMs: number; maxFrameBytes: number } | { admit: false; reason: string };

/** A peer the listener admitted: who it is, its id, the session's version and the heartbeat pace its Welcome gave. */
export interface Accepted<I> {
  identity: I;
  workerId: number;
  version: ProtocolVersion;
  pace: HeartbeatPace;
}

export class RefusedError extends ProtocolError {}

function proof(secret: Buffer, role: string, first: Buffer, second: Buffer): Buffer {
  return createHmac('sha256', secret).update(role).update(first).update(second).digest();
}

function proofMatches(expected: Buffer, given: string): boolean {
  const bytes = Buffer.from(given, 'base64');
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}

function sendJson(conn: FramedConnection, type: FrameType, value: unknown): void {
  conn.send(type, Buffer.from(JSON.stringify(value), 'utf8'));
}

function parseJson<T>(schema: z.ZodType<T>, payload: Buffer, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`${what} is not valid JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ProtocolError(`${what} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

async function expectFrame(conn: FramedConnection, expected: FrameType, what: string, timeoutMs: number): Promise<Buffer> {
  const frame = await conn.nextFrame(timeoutMs, what);
  if (frame.type === FrameType.Refuse) {
    throw new RefusedError(`refused by peer: ${parseJson(refuseSchema, frame.payload, 'Refuse frame').reason}`);
  }
  if (frame.type !== expected) throw new ProtocolError(`expected the ${what}, got frame type 0x${frame.type.toString(16)}`);
  return frame.payload;
}

function negotiate(mine: ProtocolVersion, theirs: ProtocolVersion): ProtocolVersion {
  return { major: mine.major, minor: Math.min(mine.minor, theirs.minor) };
}

/**
 * Master side. Resolves with the worker's verified identity and its admission, after the
 * Welcome has been sent. Rejects (having sent a Refuse where useful) on any failure; the
 * caller logs it and destroys the connection.
 */
export function acceptWorker(
  conn: FramedConnection,
  secret: Buffer,
  decide: (identity: WorkerIdentity, version: ProtocolVersion) => Admission,
  options: { timeoutMs: number; version?: ProtocolVersion },
): Promise<Accepted<WorkerIdentity>> {
  return accept(conn, secret, ROLES.master, workerIdentitySchema, 'worker identity', decide, options);
}

/**
 * A worker's listener (direct connections): the same exchange as {@link acceptWorker}, with the
 * peer roles. `decide` sees the caller's verified `{ workerId, target }`; the Welcome carries
 * this worker's id and settings.
 */
export function acceptPeer(
  conn: FramedConnection,
  secret: Buffer,
  decide: (identity: PeerIdentity, version: ProtocolVersion) => Admission,
  options: { timeoutMs: number; version?: ProtocolVersion },
): Promise<Accepted<PeerIdentity>> {
  return accept(conn, secret, ROLES.peer, peerIdentitySchema, 'peer identity', decide, options);
}

async function accept<I>(
  conn: FramedConnection,
  secret: Buffer,
  roles: Roles,
  identitySchema: z.ZodType<I>,
  what: string,
  decide: (identity: I, version: ProtocolVersion) => Admission,
  options: { timeoutMs: number; version?: ProtocolVersion },
): Promise<Accepted<I>> {
  const version = options.version ?? PROTOCOL_VERSION;
  const masterNonce = freshNonce();
  sendJson(conn, FrameType.Hello, { protocol: 'cm', version, nonce: masterNonce.toString('base64') });
  const auth = parseJson(authSchema, await expectFrame(conn, FrameType.Auth, 'Auth frame', options.timeoutMs), 'Auth frame');
  if (auth.version.major !== version.major) {
    const reason = versionMismatchMessage(version, auth.version);
    sendJson(conn, FrameType.Refuse, { reason });
    throw new ProtocolError(reason);
  }
  const workerNonce = Buffer.from(auth.nonce, 'base64');
  if (workerNonce.length !== NONCE_BYTES || !proofMatches(proof(secret, roles.dialler, masterNonce, workerNonce), auth.proof)) {
    sendJson(conn, FrameType.Refuse, { reason: "authentication failed: the worker does not hold this cluster's secret" });
    throw new ProtocolError('authentication failed: wrong secret');
  }
  const identity = identitySchema.safeParse(auth.identity);
  if (!identity.success) {
    const reason = `${what} is malformed: ${identity.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
    sendJson(conn, FrameType.Refuse, { reason });
    throw new ProtocolError(reason);
  }
  const negotiated = negotiate(version, auth.version);
  const admission = decide(identity.data, negotiated);
  if (!admission.admit) {
    sendJson(conn, FrameType.Refuse, { reason: admission.reason });
    throw new ProtocolError(`refused worker: ${admission.reason}`);
  }
  sendJson(conn, FrameType.Welcome, {
    version: negotiated,
    proof: proof(secret, roles.listener, workerNonce, masterNonce).toString('base64'),
    workerId: admission.workerId,
    heartbeatMs: admission.heartbeatMs,
    timeoutMs: admission.timeoutMs,
    maxFrameBytes: admission.maxFrameBytes,
  });
  return { identity: identity.data, workerId: admission.workerId, version: negotiated, pace: { heartbeatMs: admission.heartbeatMs, timeoutMs: admission.timeoutMs } };
}

/** Worker side. Resolves with the Welcome once the master has proven it holds the secret. */
export function joinMaster(conn: FramedConnection, secret: Buffer, identity: WorkerIdentity, options: { timeoutMs: number; version?: ProtocolVersion }): Promise<Welcome> {
  return join(conn, secret, ROLES.master, identity, 'the master failed authentication (it does not hold the secret this worker was given); not running anything', options);
}

/**
 * Caller side of a direct connection: resolves with the callee's Welcome once it has proven it
 * holds the secret and is worker `identity.target` (a stale address now used by another
 * worker is refused).
 */
export async function joinPeer(conn: FramedConnection, secret: Buffer, identity: PeerIdentity, options: { timeoutMs: number; version?: ProtocolVersion }): Promise<Welcome> {
  const welcome = await join(conn, secret, ROLES.peer, identity, `worker ${identity.target} failed authentication (it does not hold the cluster secret)`, options);
  if (welcome.workerId !== identity.target) throw new ProtocolError(`the listener dialled for worker ${identity.target} is worker ${welcome.workerId}`);
  return welcome;
}

async function join(conn: FramedConnection, secret: Buffer, roles: Roles, identity: unknown, impostor: string, options: { timeoutMs: number; version?: ProtocolVersion }): Promise<Welcome> {
  const version = options.version ?? PROTOCOL_VERSION;
  const hello = parseJson(helloSchema, await expectFrame(conn, FrameType.Hello, 'Hello frame', options.timeoutMs), 'Hello frame');
  if (hello.version.major !== version.major) {
    const reason = versionMismatchMessage(hello.version, version);
    sendJson(conn, FrameType.Refuse, { reason });
    throw new RefusedError(reason);
  }
  const masterNonce = Buffer.from(hello.nonce, 'base64');
  const workerNonce = freshNonce();
  sendJson(conn, FrameType.Auth, {
    version,
    nonce: workerNonce.toString('base64'),
    proof: proof(secret, roles.dialler, masterNonce, workerNonce).toString('base64'),
    identity,
  });
  const welcome = parseJson(welcomeSchema, await expectFrame(conn, FrameType.Welcome, 'Welcome frame', options.timeoutMs), 'Welcome frame');
  if (!proofMatches(proof(secret, roles.listener, workerNonce, masterNonce), welcome.proof)) throw new ProtocolError(impostor);
  return welcome;
}
