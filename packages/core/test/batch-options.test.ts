// Option keys, flags, walltimes, site config files and environment variables, and how they
// merge and fail — the part of the batch machinery an administrator and a user both touch.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError, canonicalKey, optionFlag, optionFlags, parseWalltime, resolveOptions, siteConfigFiles } from '../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-batch-options-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, content: unknown) => {
  const file = path.join(tmp, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};
const flagSchema = z.object({ partition: z.string().optional(), cpusPerTask: z.number().int().positive().optional(), time: z.string().optional() });
const aliases = { p: 'partition', c: 'cpusPerTask' };

describe('option keys and flags', () => {
  it('spells every way of writing a key the same, keeping one-letter keys and honouring aliases', () => {
    for (const key of ['cpus_per_task', 'cpus-per-task', 'CPUS_PER_TASK', 'cpusPerTask']) expect(canonicalKey(key)).toBe('cpusPerTask');
    expect(canonicalKey('N')).toBe('N');
    expect(canonicalKey('n')).toBe('n');
    expect(canonicalKey('p', aliases)).toBe('partition');
    expect(canonicalKey('mem')).toBe('mem');
  });

  it('maps values as ClusterManagers.jl does', () => {
    expect(optionFlag('p', 'debug')).toEqual(['-p', 'debug']);
    expect(optionFlag('p', '')).toEqual(['-p']);
    expect(optionFlag('memPerCpu', '2G')).toEqual(['--mem-per-cpu=2G']);
    expect(optionFlag('mail_type', 'END')).toEqual(['--mail-type=END']);
    expect(optionFlag('exclusive', '')).toEqual(['--exclusive']);
    expect(optionFlag('exclusive', true)).toEqual(['--exclusive']);
    expect(optionFlag('exclusive', false)).toBeUndefined();
    expect(optionFlag('nodes', 2)).toEqual(['--nodes=2']);
  });

  it('orders flags deterministically: declared keys first, the rest alphabetically', () => {
    expect(optionFlags({ b: '1', zz: '2', time: '5', aa: '3', partition: 'x' }, ['partition', 'time'])).toEqual([['--partition=x'], ['--time=5'], ['--aa=3'], ['-b', '1'], ['--zz=2']]);
  });

  it('parses every walltime form to seconds', () => {
    expect(parseWalltime('30')).toBe(1800);
    expect(parseWalltime('30:15')).toBe(1815);
    expect(parseWalltime('01:02:03')).toBe(3723);
    expect(parseWalltime('2-00')).toBe(172_800);
    expect(parseWalltime('1-02:03')).toBe(93_780);
    expect(parseWalltime('1-00:00:10')).toBe(86_410);
    expect(parseWalltime(90)).toBe(5400);
    expect(parseWalltime('soon')).toBeUndefined();
    expect(parseWalltime(undefined)).toBeUndefined();
  });
});

describe('site config', () => {
  it('reads /etc/cm/config.json then the user file, or only the file CM_CONFIG names', () => {
    expect(siteConfigFiles({ HOME: '/home/ada' }).map((f) => f.path)).toEqual(['/etc/cm/config.json', '/home/ada/.config/cm/config.json']);
    expect(siteConfigFiles({ HOME: '/home/ada', XDG_CONFIG_HOME: '/xdg' }).map((f) => f.path)).toEqual(['/etc/cm/config.json', '/xdg/cm/config.json']);
    expect(siteConfigFiles({ CM_CONFIG: '/site/cm.json' })).toEqual([{ path: '/site/cm.json', required: true }]);
  });

  it('merges user file < CM_BATCH_* and CM_<SCHEDULER>_* variables < code, coercing variables to the types expected', () => {
    write('xdg/cm/config.json', { batch: { logDir: '/file/logs', pollMs: 700 }, simq: { partition: 'file', time: '1:00:00' } });
    const env = {
      XDG_CONFIG_HOME: path.join(tmp, 'xdg'),
      CM_BATCH_LAUNCH_TIMEOUT_MS: '5000',
      CM_BATCH_PROLOGUE: '["module load nodejs"]',
      CM_SIMQ_PARTITION: 'env',
      CM_SIMQ_CPUS_PER_TASK: '4',
      CM_SIMQ_EXCLUSIVE: '',
    };
    const resolved = resolveOptions('simq', flagSchema, { p: 'code', jobName: 'mine' }, aliases, env);
    expect(resolved.generic).toMatchObject({ logDir: '/file/logs', pollMs: 700, launchTimeoutMs: 5000, prologue: ['module load nodejs'], jobName: 'mine' });
    expect(resolved.flags).toEqual({ partition: 'code', time: '1:00:00', cpusPerTask: 4, exclusive: '' });
    expect(resolved.sources).toMatchObject({ partition: 'code', cpusPerTask: 'CM_SIMQ_CPUS_PER_TASK', time: expect.stringContaining('section "simq"') });
  });

  it('names the source of a bad value', () => {
    const file = write('bad-type.json', { simq: { cpusPerTask: 'many' } });
    expect(() => resolveOptions('simq', flagSchema, {}, aliases, { CM_CONFIG: file })).toThrow(new RegExp(`\`cpusPerTask\` \\(from ${file} \\(section "simq"\\)\\)`));
    expect(() => resolveOptions('simq', flagSchema, {}, aliases, { CM_CONFIG: write('empty.json', {}), CM_BATCH_POLL_MS: 'often' })).toThrow(/`pollMs` \(from CM_BATCH_POLL_MS\)/);
    expect(() => resolveOptions('simq', flagSchema, { pollMs: 1 }, aliases, { CM_CONFIG: write('empty.json', {}) })).toThrow(/`pollMs`: /);
  });

  it('refuses unreadable, malformed and misplaced configuration with the file and what to do', () => {
    expect(() => resolveOptions('simq', flagSchema, {}, aliases, { CM_CONFIG: path.join(tmp, 'missing.json') })).toThrow(/cannot read the site config .*missing\.json \(named by CM_CONFIG\).*unset CM_CONFIG/);
    expect(() => resolveOptions('simq', flagSchema, {}, aliases, { CM_CONFIG: write('broken.json', '{"simq": ') })).toThrow(/broken\.json is not valid JSON/);
    expect(() => resolveOptions('simq', flagSchema, {}, aliases, { CM_CONFIG: write('array.json', { simq: ['x'] }) })).toThrow(/array\.json is malformed at `simq`/);
    const stray = write('stray.json', { batch: { partition: 'x' } });
    expect(() => resolveOptions('simq', flagSchema, {}, aliases, { CM_CONFIG: stray })).toThrow(/`partition` \(from .*section "batch"\)\) is not an option of every scheduler; set it for one scheduler \(section "simq", or CM_SIMQ_\*\)/);
    expect(() => resolveOptions('simq', flagSchema, { p: 'a', partition: 'b' }, aliases, { CM_CONFIG: write('empty.json', {}) })).toThrow(UsageError);
  });

  it('a missing user or system file is not an error', () => {
    expect(resolveOptions('simq', flagSchema, {}, aliases, { HOME: path.join(tmp, 'nobody') }).flags).toEqual({});
  });
});
