// Unit tests of the Scyld declaration: beomap's map as documented (scyld.md §3), the bpsh and
// beomap command lines, hints for what bpsh and beomap print, option checks. No Scyld needed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScyldManager, parseBeomap, scyldDriver, scyldHint } from '../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-scyld-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const emptyConfig = path.join(tmp, 'empty.json');
writeFileSync(emptyConfig, '{}');
const out = (stdout: string) => ({ stdout, stderr: '', exitCode: 0 });
const manager = (np: number, options: Record<string, unknown> = {}, env: Record<string, string> = {}) => {
  const saved = { ...process.env };
  Object.assign(process.env, { CM_CONFIG: emptyConfig, ...env });
  try {
    return new ScyldManager(np, options);
  } finally {
    process.env = saved;
  }
};

describe('beomap', () => {
  it('reads one colon-separated line, one node per worker, nodes repeating when shared', () => {
    expect(parseBeomap(out('0:1:2:3\n'), 4)).toEqual(['0', '1', '2', '3']);
    expect(parseBeomap(out('0:0:1:1\n'), 4)).toEqual(['0', '0', '1', '1']);
    expect(parseBeomap(out('5\n'), 1)).toEqual(['5']);
  });

  it('refuses a map of the wrong size, of things that are not node numbers, or nothing', () => {
    expect(parseBeomap(out('0:1\n'), 3)).toEqual({ error: 'its map "0:1" has 2 nodes for 3 workers' });
    expect(parseBeomap(out('0:n1\n'), 2)).toEqual({ error: 'its map "0:n1" has "n1", which is not a node number' });
    expect(parseBeomap(out('\n'), 2)).toEqual({ error: 'it printed no node map' });
  });

  it('is asked with --no-local --np N, and the exclude/noOver settings', () => {
    expect(scyldDriver().processes.place!.command(4)).toEqual(['beomap', '--no-local', '--np', '4']);
    // scyld.md §3: NO_OVER is one of beomap's environment variables; it has no flag of its own.
    expect(scyldDriver({ exclude: '0,3-5', noOver: true }).processes.place!.command(2)).toEqual(['env', 'NO_OVER=1', 'beomap', '--no-local', '--np', '2', '--exclude', '0,3-5']);
  });
});

describe('bpsh', () => {
  const { processes } = scyldDriver();
  it('runs one worker per node, options before the node; stops it with bpsh NODE kill PID', () => {
    expect(processes.command({ np: 2, index: 1, place: '3', flags: [['-L'], ['-b', '8192']], extraFlags: ['-n'], worker: ['/usr/bin/node', '/w/main.js'] })).toEqual([
      'bpsh',
      '-L',
      '-b',
      '8192',
      '-n',
      '3',
      'sh',
      '-c',
      'echo "cm-remote-pid $$"; exec "$@"',
      'sh',
      '/usr/bin/node',
      '/w/main.js',
    ]);
    expect(processes.remotePid!.exec('cm-remote-pid 4242\n')?.[1]).toBe('4242');
    // `bpsh -p` prefixes every line with the node number as `%3d: ` (scyld.md §4).
    expect(processes.remotePid!.exec('  3: cm-remote-pid 4242\n')?.[1]).toBe('4242');
    expect(processes.remotePid!.exec(' 12: cm-remote-pid 77\n')?.[1]).toBe('77');
    expect(processes.remotePid!.exec('  3: said cm-remote-pid 1\n')).toBeNull();
    expect(processes.stop!({ place: '3', pid: 4242 })).toEqual(['bpsh', '3', 'kill', '4242']);
    expect(processes.per).toBe('worker');
  });

  it('explains what bpsh and beomap print', () => {
    expect(scyldHint('1: Operation not permitted')).toMatch(/refuses your user .*`exclude`/);
    expect(scyldHint('3: Host is down')).toMatch(/not up \(`bpstat`\)/);
    expect(scyldHint('bpsh: node: command not found')).toMatch(/master's PATH/);
    expect(scyldHint('beomap: no compute nodes are up')).toMatch(/no compute node is up and usable/);
    expect(scyldHint('something else')).toBeUndefined();
  });
});

describe('options', () => {
  it('maps one-letter bpsh options and long spellings to bpsh flags; settings come from site config', () => {
    const m = manager(2, { L: true, stdout: '/tmp/w.out', b: 8192 }, { CM_SCYLD_EXCLUDE: '0', CM_SCYLD_NO_OVER: 'true' });
    expect(m.layout).toBe('processes');
    expect(m.driver.name).toBe('scyld');
    expect('processes' in m.driver && m.driver.processes.place!.command(2)).toEqual(['env', 'NO_OVER=1', 'beomap', '--no-local', '--np', '2', '--exclude', '0']);
  });

  it.each([
    [{ a: true }, /`a`: beomap chooses the nodes/],
    [{ N: '' }, /`N`: `-N` drops the worker's stderr/],
    [{ exclude: 'node1' }, /`exclude`: use a node list like "2,5-7"/],
    [{ layout: 'array' }, /no layouts; leave `layout` out/],
    [{ replaceBeforeWalltime: true }, /queues none/],
    [{ x: 1 }, /`x` is not a scyld option/],
  ])('refuses %j', (options, message) => {
    expect(() => manager(2, options)).toThrow(message);
  });
});
