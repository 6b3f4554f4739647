import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { UsageError } from '@cm/core';
import { type NetworkInterfaces, pickRoutableAddress } from '@cm/core/driver';
import { resolveElasticAddress } from '../src/address.js';

function nic(address: string, internal = false): NetworkInterfaceInfo {
  const family = address.includes(':') ? 'IPv6' : 'IPv4';
  return { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) } as NetworkInterfaceInfo;
}

const loopbackOnly: NetworkInterfaces = { lo: [nic('127.0.0.1', true), nic('::1', true)] };
const typical: NetworkInterfaces = {
  lo: [nic('127.0.0.1', true)],
  eth0: [nic('fe80::1'), nic('fd00::2'), nic('192.0.2.2')],
  ib0: [nic('198.51.100.7')],
};

describe('pickRoutableAddress', () => {
  it('prefers IPv4, never loopback', () => {
    expect(pickRoutableAddress(typical)?.address).toBe('192.0.2.2');
    expect(pickRoutableAddress(loopbackOnly)).toBeUndefined();
  });

  it('uses IPv6 when there is no IPv4, and link-local addresses only as a last resort', () => {
    expect(pickRoutableAddress({ eth0: [nic('fe80::1'), nic('fd00::2')] })?.address).toBe('fd00::2');
    expect(pickRoutableAddress({ eth0: [nic('fe80::1'), nic('169.254.3.4')] })?.address).toBe('169.254.3.4');
    expect(pickRoutableAddress({ eth0: [nic('fe80::1')] })?.address).toBe('fe80::1');
  });

  it('keeps to the named interface', () => {
    expect(pickRoutableAddress(typical, { interfaceName: 'ib0' })?.address).toBe('198.51.100.7');
  });
});

describe('resolveElasticAddress', () => {
  it("'auto' binds all interfaces of the picked family and advertises the routable address", () => {
    expect(resolveElasticAddress('auto', typical)).toEqual({ bind: '0.0.0.0', advertise: '192.0.2.2' });
    expect(resolveElasticAddress('auto', { eth0: [nic('fd00::2')] })).toEqual({ bind: '::', advertise: 'fd00::2' });
    expect(resolveElasticAddress('auto', typical, 'ib0')).toEqual({ bind: '0.0.0.0', advertise: '198.51.100.7' });
  });

  it('a wildcard keeps its bind and advertises a routable address of its family', () => {
    expect(resolveElasticAddress('0.0.0.0', { eth0: [nic('fd00::2'), nic('192.0.2.9')] })).toEqual({ bind: '0.0.0.0', advertise: '192.0.2.9' });
    expect(resolveElasticAddress('::', typical)).toEqual({ bind: '::', advertise: '192.0.2.2' });
  });

  it('an explicit address is bound and advertised as given, whatever the interfaces', () => {
    expect(resolveElasticAddress('127.0.0.1', loopbackOnly)).toEqual({ bind: '127.0.0.1', advertise: '127.0.0.1' });
  });

  it("'auto' on a machine with only loopback is a clear error that says what to do", () => {
    let error: unknown;
    try {
      resolveElasticAddress('auto', loopbackOnly);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).field).toBe('addr');
    expect((error as Error).message).toMatch(/no non-loopback IPv4 or IPv6 address \(interfaces: lo \(127\.0\.0\.1, ::1\)\); pass `addr` explicitly, e\.g\. '127\.0\.0\.1'/);
    expect(() => resolveElasticAddress('0.0.0.0', { eth0: [nic('fd00::2')] })).toThrow(/no non-loopback IPv4 address/);
  });

  it('names the interfaces there are when the requested one does not exist', () => {
    expect(() => resolveElasticAddress('auto', typical, 'ib1')).toThrow(/no network interface `ib1`; this machine has: lo \(127\.0\.0\.1\); eth0 .*; ib0 \(198\.51\.100\.7\)/);
  });
});
