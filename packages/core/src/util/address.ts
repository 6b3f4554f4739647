/**
 * Which address of this machine other machines should dial. One place for it: the master's
 * listener, the elastic manager and drivers all pick the same way.
 * @module
 */
import os, { type NetworkInterfaceInfo } from 'node:os';

/** What `os.networkInterfaces()` returns. */
export type NetworkInterfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** Link-local addresses need a zone id to dial and are not reachable beyond one link: last resort only. */
function isLinkLocal(info: NetworkInterfaceInfo): boolean {
  return info.family === 'IPv4' ? info.address.startsWith('169.254.') : /^fe[89ab][0-9a-f]:/i.test(info.address);
}

/**
 * The interface address other machines should dial: the first non-loopback IPv4 address,
 * else IPv6, preferring addresses that are not link-local. `interfaceName` limits the search
 * to one interface (e.g. `ib0` for InfiniBand); `family` to one address family.
 */
export function pickRoutableAddress(
  interfaces: NetworkInterfaces = os.networkInterfaces(),
  options: { interfaceName?: string | undefined; family?: 'IPv4' | 'IPv6' | undefined } = {},
): NetworkInterfaceInfo | undefined {
  const entries = Object.entries(interfaces).filter(([name]) => options.interfaceName === undefined || name === options.interfaceName);
  const candidates = entries.flatMap(([, list]) => list ?? []).filter((info) => !info.internal && (options.family === undefined || info.family === options.family));
  const rank = (info: NetworkInterfaceInfo) => (isLinkLocal(info) ? 2 : 0) + (info.family === 'IPv4' ? 0 : 1);
  return [...candidates].sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * The address of the named interface (`eth0`, `ib0`, `lo`): its first IPv4 address, else
 * IPv6; undefined when there is no such interface.
 */
export function interfaceAddress(name: string, interfaces: NetworkInterfaces = os.networkInterfaces()): string | undefined {
  const list = interfaces[name] ?? [];
  return (list.find((a) => a.family === 'IPv4') ?? list[0])?.address;
}

/** `eth0 (10.0.0.5), lo (127.0.0.1)`: for error messages. */
export function describeInterfaces(interfaces: NetworkInterfaces = os.networkInterfaces()): string {
  return (
    Object.entries(interfaces)
      .map(([name, list]) => `${name} (${(list ?? []).map((a) => a.address).join(', ') || 'no address'})`)
      .join('; ') || 'none'
  );
}

/** This machine's routable address (see pickRoutableAddress), or undefined when it has none. */
export function routableAddress(): string | undefined {
  return pickRoutableAddress()?.address;
}
