// Debug output and log levels: NODE_DEBUG=cm or DEBUG=cm shows connections, handshakes and
// launches with their timings; without either, nothing; a logger gets what its level allows.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LocalManager, PROTOCOL_VERSION } from '../src/index.js';
import { debugSelects, formatElapsed } from '../src/util/debug.js';
import { fixture, testCluster } from './helpers.js';

async function debugRun(env: Record<string, string>): Promise<string> {
  const { stderr, exitCode } = await execa(process.execPath, [fixture('debug-run.mjs')], { env: { NODE_DEBUG: '', DEBUG: '', ...env }, reject: false, timeout: 30_000 });
  expect(exitCode, stderr).toBe(0);
  return stderr;
}

describe('debug output', () => {
  it('NODE_DEBUG=cm shows the launch, the connection, the handshake and the join, with timings', async () => {
    const stderr = await debugRun({ NODE_DEBUG: 'cm' });
    expect(stderr).toMatch(/^CM \d+: launch L[0-9a-f]+: local starting 1 worker\(s\); workers dial 127\.0\.0\.1:\d+$/m);
    expect(stderr).toMatch(/^CM \d+: connection from 127\.0\.0\.1:\d+$/m);
    const protocol = `${PROTOCOL_VERSION.major}\\.${PROTOCOL_VERSION.minor}`;
    expect(stderr).toMatch(new RegExp(`^CM \\d+: handshake with 127\\.0\\.0\\.1:\\d+ done in \\d+ (ms|µs): worker 2 \\(.+, pid \\d+, launch L[0-9a-f]+, task 0, protocol ${protocol}\\)$`, 'm'));
    expect(stderr).toMatch(/^CM \d+: worker 2 joined \(.+, pid \d+, task 0\): 1 of 1 of launch L[0-9a-f]+ after \d+ ms$/m);
    expect(stderr).toMatch(/^CM \d+: local: 1 worker\(s\) joined in \d+ ms/m);
    expect(stderr).toMatch(/^CM \d+: worker 2 removed \(the cluster was closed\)$/m);
  });

  it('DEBUG=cm and DEBUG=* are honoured too; without a debug variable nothing is printed', async () => {
    expect(await debugRun({ DEBUG: 'cm' })).toMatch(/^CM \d+: connection from /m);
    expect(await debugRun({ DEBUG: '*' })).toMatch(/^CM \d+: connection from /m);
    expect(await debugRun({})).not.toMatch(/CM \d+:/);
  });

  it('reads DEBUG patterns like the debug package does', () => {
    expect(debugSelects('cm')).toBe(true);
    expect(debugSelects('*')).toBe(true);
    expect(debugSelects('cm:*')).toBe(true);
    expect(debugSelects('express,cm')).toBe(true);
    expect(debugSelects('*,-cm')).toBe(false);
    expect(debugSelects('express')).toBe(false);
    expect(debugSelects(undefined)).toBe(false);
  });

  it('formats elapsed time for progress lines', () => {
    expect(formatElapsed(4_900)).toBe('4s');
    expect(formatElapsed(133_000)).toBe('2m13s');
    expect(formatElapsed(3_725_000)).toBe('1h02m');
  });
});

describe('log levels', () => {
  const recorder = () => {
    const lines: string[] = [];
    const at = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
    return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
  };

  it('a logger given without a level gets info: workers joining and leaving, launches done', async () => {
    const { lines, logger } = recorder();
    const cluster = testCluster({ logger });
    await cluster.addprocs(new LocalManager(1));
    await cluster.close();
    expect(lines).toContainEqual(expect.stringMatching(/^info: worker 2 joined \(/));
    expect(lines).toContainEqual(expect.stringMatching(/^info: local: 1 worker\(s\) joined in /));
    expect(lines).toContainEqual('info: worker 2 removed (the cluster was closed)');
    expect(lines.filter((line) => line.startsWith('debug:'))).toEqual([]);
  });

  it('logLevel debug adds connections and handshakes; warn keeps only warnings', async () => {
    const verbose = recorder();
    const cluster = testCluster({ logger: verbose.logger, logLevel: 'debug' });
    await cluster.addprocs(new LocalManager(1));
    expect(verbose.lines).toContainEqual(expect.stringMatching(/^debug: handshake with 127\.0\.0\.1:\d+ done in/));

    const quiet = recorder();
    const other = testCluster({ logger: quiet.logger, logLevel: 'warn' });
    await other.addprocs(new LocalManager(1));
    await other.close();
    expect(quiet.lines).toEqual([]);
  });
});
