/**
 * The master's log of refused peers, rate-limited: a port scan, a flood of garbage or 500
 * half-open connections must not bury the log (or cost a write per connection). The first
 * refusal of a burst is logged in full; the rest of the burst becomes one summary line.
 * Every refusal is still emitted as a `peer-rejected` event.
 * @module
 */
import type { Logger } from '../util/logger.js';

/** A burst ends this long after its first refusal; its summary is logged then. */
export const REJECTION_BURST_MS = 2_000;
const MAX_REASONS_LISTED = 5;

/** Group reasons that differ only in numbers and addresses ("a frame of 1234 bytes"). */
function reasonKind(reason: string): string {
  return reason.replace(/\d+/g, 'N').slice(0, 120);
}

export class RejectionLog {
  #burst: { more: number; kinds: Map<string, number>; peers: Set<string>; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly logger: Logger) {}

  record(remoteAddress: string, reason: string): void {
    if (!this.#burst) {
      this.logger.warn(`rejected connection from ${remoteAddress}: ${reason}`);
      this.#burst = { more: 0, kinds: new Map(), peers: new Set(), timer: setTimeout(() => this.flush(), REJECTION_BURST_MS).unref() };
      return;
    }
    const burst = this.#burst;
    burst.more++;
    const kind = reasonKind(reason);
    burst.kinds.set(kind, (burst.kinds.get(kind) ?? 0) + 1);
    if (burst.peers.size < MAX_REASONS_LISTED) burst.peers.add(remoteAddress.replace(/:\d+$/, ''));
  }

  /** Log the summary of the burst in progress, if it had more than its first refusal. */
  flush(): void {
    const burst = this.#burst;
    this.#burst = undefined;
    if (!burst) return;
    clearTimeout(burst.timer);
    if (burst.more === 0) return;
    const kinds = [...burst.kinds.entries()].sort((a, b) => b[1] - a[1]);
    const listed = kinds.slice(0, MAX_REASONS_LISTED).map(([kind, count]) => `${count} × ${kind}`);
    if (kinds.length > MAX_REASONS_LISTED) listed.push(`${kinds.length - MAX_REASONS_LISTED} other reasons`);
    this.logger.warn(`rejected ${burst.more} more connection${burst.more === 1 ? '' : 's'} within ${REJECTION_BURST_MS / 1000} s (from ${[...burst.peers].join(', ')}): ${listed.join('; ')}`);
  }
}
