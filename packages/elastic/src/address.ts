/**
 * Where the elastic master listens and which address it tells workers to dial. Resolved
 * in the manager's constructor from an injectable interface list, so a machine with no
 * usable address is a clear error before anything starts, and tests need no real network.
 * @module
 */
import { UsageError } from '@cm/core';
import { type NetworkInterfaces, describeInterfaces, pickRoutableAddress } from '@cm/core/driver';

export type { NetworkInterfaces };

/** A resolved listening address. */
export interface ElasticAddress {
  /** Interface the master binds (`0.0.0.0` or `::` for all). */
  bind: string;
  /** Address printed in the connect command, which workers dial. */
  advertise: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * Resolve `addr` into what to bind and what to advertise:
 * - `'auto'`: all interfaces, advertising this machine's routable address;
 * - `'0.0.0.0'` / `'::'`: that wildcard, advertising the routable address of its family;
 * - anything else (an address or host name): bind and advertise exactly that.
 * @throws UsageError when `'auto'` or a wildcard finds no routable address, or the named interface does not exist
 */
export function resolveElasticAddress(addr: string, interfaces: NetworkInterfaces, interfaceName?: string): ElasticAddress {
  if (addr !== 'auto' && !WILDCARDS.has(addr)) return { bind: addr, advertise: addr };
  if (interfaceName !== undefined && !(interfaceName in interfaces)) {
    throw new UsageError(`ElasticManager: there is no network interface \`${interfaceName}\`; this machine has: ${describeInterfaces(interfaces)}`, 'interface');
  }
  const family = addr === '0.0.0.0' ? 'IPv4' : undefined;
  const picked = pickRoutableAddress(interfaces, { interfaceName, family });
  if (!picked) {
    const where = interfaceName === undefined ? 'this machine has no' : `interface \`${interfaceName}\` has no`;
    throw new UsageError(
      `ElasticManager: addr '${addr}' needs an address other machines can reach, but ${where} non-loopback ${family ?? 'IPv4 or IPv6'} address (interfaces: ${describeInterfaces(interfaces)}); pass \`addr\` explicitly, e.g. '127.0.0.1' for workers on this machine only`,
      'addr',
    );
  }
  const bind = addr === 'auto' ? (picked.family === 'IPv4' ? '0.0.0.0' : '::') : addr;
  return { bind, advertise: picked.address };
}
