/**
 * What the listening side of a handshake receives, as zod schemas: the Auth frame and the
 * identities in it. Kept apart from handshake.ts so that only a listener (the master, or a
 * worker accepting direct connections) loads zod: the dialling side of every worker's start
 * checks its few frames by hand (see handshake.ts and docs/decisions.md).
 * @module
 */
import { z } from 'zod';

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

/** The dialler's Auth frame; its identity is checked after its proof, by the schema of the connection's kind. */
export const authSchema = z.object({ version: versionSchema, nonce: z.string(), proof: z.string(), identity: z.unknown() });
