import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LocalManager, WORKER_ENV, workerEntryPath } from '../src/index.js';
import { quietLogger, testCluster } from './helpers.js';

describe('encrypted connections (TLS-PSK)', () => {
  it('workers join and calls work, with the bytes on the wire encrypted', async () => {
    const cluster = testCluster({ encrypt: true });
    const [id] = await cluster.addprocs(new LocalManager(1));
    const big = new Float64Array(100_000).fill(1.25);
    const sum = await cluster.remotecallFetch(id!, (v: Float64Array) => v.reduce((a, b) => a + b, 0), big);
    expect(sum).toBe(125_000);
    expect(await cluster.pmap((x: number) => x + 1, [1, 2, 3])).toEqual([2, 3, 4]);
  });

  it('a plain-TCP peer and a peer with the wrong secret are rejected in the TLS handshake; the cluster keeps serving', async () => {
    const logger = quietLogger();
    const cluster = testCluster({ encrypt: true, logger });
    const [id] = await cluster.addprocs(new LocalManager(1));
    const rejected: string[] = [];
    cluster.on('peer-rejected', ({ reason }) => rejected.push(reason));
    const { host, port } = await cluster.listen();
    const impostor = await execa(process.execPath, [workerEntryPath()], {
      env: { [WORKER_ENV.masterHost]: host, [WORKER_ENV.masterPort]: String(port), [WORKER_ENV.launchId]: 'Lx', [WORKER_ENV.secret]: randomBytes(32).toString('base64url'), [WORKER_ENV.tls]: '1' },
      reject: false,
      timeout: 10_000,
    });
    expect(impostor.exitCode).toBe(3);
    expect(impostor.stderr).toMatch(/could not connect to the master at .*: sslv3 alert bad record mac \(with encryption on, this means the worker does not hold the cluster secret\)/);
    const plain = net.connect(port, host);
    plain.on('error', () => {});
    plain.write(randomBytes(512));
    await new Promise((resolve) => plain.on('close', resolve));
    // Both are reported as events; the log shows the first and sums up the burst (rejections.ts).
    expect(rejected.filter((reason) => /TLS handshake failed/.test(reason)).length).toBeGreaterThanOrEqual(2);
    expect(logger.warnings[0]).toMatch(/^rejected connection from 127\.0\.0\.1:\d+: TLS handshake failed: /);
    expect(await cluster.remotecallFetch(id!, () => 'still serving')).toBe('still serving');
  });
});
