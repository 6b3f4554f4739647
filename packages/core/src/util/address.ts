import os from 'node:os';

/**
 * The machine's first non-loopback IPv4 address (then IPv6), which workers on other hosts
 * can dial. Undefined when the machine has none.
 */
export function routableAddress(): string | undefined {
  const all = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  return external.find((a) => a.family === 'IPv4')?.address ?? external.find((a) => a.family === 'IPv6')?.address;
}
