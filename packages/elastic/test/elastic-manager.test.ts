import type { NetworkInterfaceInfo } from 'node:os';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { UsageError } from '@cm/core';
import { describe, expect, it } from 'vitest';
import { ElasticManager } from '../src/index.js';

const loopbackOnly = () => ({ lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '00:00:00:00:00:00', cidr: '127.0.0.1/8' } as NetworkInterfaceInfo] });
const withEth0 = () => ({
  ...loopbackOnly(),
  eth0: [{ address: '192.0.2.7', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '02:00:00:00:00:07', cidr: '192.0.2.7/24' } as NetworkInterfaceInfo],
});

describe('ElasticManager options', () => {
  it("defaults to addr 'auto' on an OS-picked port, asking core to listen on all interfaces and advertise the routable address", () => {
    const manager = new ElasticManager({ networkInterfaces: withEth0 });
    expect(manager.listen).toEqual({ host: '0.0.0.0', port: 0, advertiseHost: '192.0.2.7' });
    expect(manager.expectedWorkers).toBe(0);
    expect(manager.acceptsLateWorkers).toBe(true);
    expect(manager.needsRoutableAddress).toBe(true);
  });

  it('takes addr and port as given, and np as the workers addprocs waits for', () => {
    const manager = new ElasticManager({ addr: '127.0.0.1', port: 9009, np: 3 });
    expect(manager.listen).toEqual({ host: '127.0.0.1', port: 9009, advertiseHost: '127.0.0.1' });
    expect(manager.expectedWorkers).toBe(3);
    expect(manager.needsRoutableAddress).toBe(false);
  });

  it("fails in the constructor when 'auto' finds no routable address", () => {
    expect(() => new ElasticManager({ networkInterfaces: loopbackOnly })).toThrow(/needs an address other machines can reach.*pass `addr` explicitly/);
  });

  it("accepts topology 'master_worker' and points 'all_to_all' to the Cluster's option", () => {
    expect(new ElasticManager({ addr: '127.0.0.1', topology: 'master_worker' }).name).toBe('elastic');
    const error = (() => {
      try {
        new ElasticManager({ addr: '127.0.0.1', topology: 'all_to_all' });
      } catch (caught) {
        return caught as UsageError;
      }
      throw new Error('expected an error');
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error.field).toBe('topology');
    expect(error.message).toMatch(
      /'all_to_all' is not a manager option in @cm: the topology is the whole cluster's\. Pass `topology: 'all_to_all'` to `new Cluster\(…\)`.*leave ElasticManager's `topology` at 'master_worker'/,
    );
    expect(() => new ElasticManager({ addr: '127.0.0.1', topology: 'custom' })).toThrow(/unknown topology 'custom'/);
  });

  it('names each invalid option', () => {
    expect(() => new ElasticManager({ addr: '127.0.0.1', port: 70000 })).toThrow(/`port`/);
    expect(() => new ElasticManager({ addr: '' })).toThrow(/`addr`/);
    expect(() => new ElasticManager({ addr: '127.0.0.1', np: -1 })).toThrow(/`np`/);
    expect(() => new ElasticManager({ addr: '127.0.0.1', cookie: 'x' } as never)).toThrow(/invalid ElasticManager options.*cookie/);
    expect(() => new ElasticManager({ addr: '127.0.0.1', printing: { relative: true } } as never)).toThrow(/printing/);
    expect(() => new ElasticManager({ addr: '127.0.0.1', interface: 'eth0' })).toThrow(/leave it out when `addr` is an address/);
  });

  it('refuses a secret file others can read, before anything listens', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-elastic-options-'));
    try {
      const file = path.join(dir, 'secret');
      writeFileSync(file, 'x'.repeat(44));
      chmodSync(file, 0o640);
      expect(() => new ElasticManager({ addr: '127.0.0.1', secretFile: file })).toThrow(/can be read by others \(mode 640\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints its state before it is started, also through util.inspect', () => {
    const manager = new ElasticManager({ addr: '127.0.0.1', port: 9009, np: 2 });
    const text = String(manager);
    expect(text).toContain('will listen on 127.0.0.1:9009');
    expect(text).toContain('active workers: (none)');
    expect(text).toContain('workers expected: 2');
    expect(text).toContain('terminated workers: (none)');
    expect(text).toContain('pass it to cluster.addprocs()');
    expect(inspect(manager)).toBe(text);
    expect(() => manager.connectCommand()).toThrow(/`await cluster.addprocs\(manager\)` first/);
  });
});
