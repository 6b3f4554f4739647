/**
 * The wire protocol version. Peers with the same major interoperate (the session uses the
 * lower minor); a different major is refused with a message naming both versions.
 */
export const PROTOCOL_VERSION = { major: 1, minor: 4 } as const;

/** The first minor version with the Cancel frame: a master sends it only to workers that speak it. */
export const CANCEL_MIN_MINOR = 1;

/** The first minor version with calls from workers (Request, Reply, Peers, Offer, and Cancel from a worker). */
export const PEER_CALLS_MIN_MINOR = 2;

/** The first minor version with one-item map calls (Call mode 2) and their compact Results (statuses 2 and 3). */
export const ITEM_CALL_MIN_MINOR = 2;

/** The first minor version with direct connections between workers (the Direct frame; `topology: 'all_to_all'`). */
export const DIRECT_PEERS_MIN_MINOR = 3;

/**
 * The first minor version in which the master's Heartbeats carry the heartbeat pace (the
 * interval and timeout a worker uses from then on): the master slows heartbeats as the cluster grows.
 */
export const HEARTBEAT_PACE_MIN_MINOR = 4;

export type ProtocolVersion = { readonly major: number; readonly minor: number };

export function formatVersion(v: ProtocolVersion): string {
  return `${v.major}.${v.minor}`;
}

/** The message both sides use when majors differ, so the text is the same wherever it is logged. */
export function versionMismatchMessage(master: ProtocolVersion, worker: ProtocolVersion): string {
  return `protocol version mismatch: master speaks ${formatVersion(master)}, worker speaks ${formatVersion(worker)}; ` + `install the same major version of @cm/core on the master and the workers`;
}
