/**
 * The heartbeat pace (protocol 1.4+): the master's Heartbeats carry the interval and timeout a
 * worker uses from then on, so the master can slow every worker's heartbeats as the cluster
 * grows and handle a bounded number of heartbeat frames per second (docs/protocol.md, section 5).
 * @module
 */
import { MAX_TIMER_MS } from '../util/keep-alive.js';

/** How often each side sends a Heartbeat when it has sent nothing else, and the silence after which the other side counts as gone. */
export interface HeartbeatPace {
  readonly heartbeatMs: number;
  readonly timeoutMs: number;
}

/** Heartbeat (master → worker, 1.4+): uint32 BE heartbeatMs, uint32 BE timeoutMs. Longer payloads: the rest is reserved. */
export const HEARTBEAT_PACE_BYTES = 8;

export function encodeHeartbeatPace({ heartbeatMs, timeoutMs }: HeartbeatPace): Buffer {
  const body = Buffer.allocUnsafe(HEARTBEAT_PACE_BYTES);
  body.writeUInt32BE(heartbeatMs, 0);
  body.writeUInt32BE(timeoutMs, 4);
  return body;
}

/**
 * The pace a master's Heartbeat carries; undefined for an empty Heartbeat (a master before 1.4)
 * and for one whose values no timer can use (zero, over 2^31 − 1, a timeout not above the
 * interval): the worker keeps the pace it has.
 */
export function decodeHeartbeatPace(body: Buffer): HeartbeatPace | undefined {
  if (body.length < HEARTBEAT_PACE_BYTES) return undefined;
  const heartbeatMs = body.readUInt32BE(0);
  const timeoutMs = body.readUInt32BE(4);
  // Checked by hand, not with zod: every worker decodes this, and a worker starts without zod
  // (docs/decisions.md). The worker arms timers with these, as with the Welcome's: Node clamps
  // delays over 2^31 − 1 ms to 1 ms.
  if (heartbeatMs < 1 || timeoutMs > MAX_TIMER_MS || timeoutMs <= heartbeatMs) return undefined;
  return { heartbeatMs, timeoutMs };
}
