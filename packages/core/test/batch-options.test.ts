// Option keys, flags, walltimes, site config files and environment variables, and how they
// merge and fail — the part of the batch machinery an administrator and a user both touch.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/index.js';
import { canonicalKey, optionFlag, optionFlags, registerDriverName, resolveOptions, siteConfigFiles, snakeCase } from '../src/driver.js';

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
/** What the test driver declares: typed options, the scheduler's other option names, and one setting. */
const declaration = {
  flagSchema,
  flagNames: ['partition', 'cpusPerTask', 'time', 'exclusive', 'mailType', 'p', 'c'],
  settingsSchema: z.object({ dialect: z.enum(['pro', 'torque']).optional() }),
  aliases: { ...aliases, simqFlags: 'submitFlags' },
};
const resolve = (code: Record<string, unknown>, env: NodeJS.ProcessEnv) => resolveOptions('simq', declaration, code, env);

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

  it('renders single-dash flags in snake_case for Grid Engine, PBS and LSF', () => {
    expect(snakeCase('holdJid')).toBe('hold_jid');
    expect(optionFlag('holdJid', 12, 'single-dash')).toEqual(['-hold_jid', '12']);
    expect(optionFlag('l', 'h_vmem=4G', 'single-dash')).toEqual(['-l', 'h_vmem=4G']);
    expect(optionFlag('cwd', '', 'single-dash')).toEqual(['-cwd']);
    expect(optionFlags({ pe: 'smp 4', q: 'all.q' }, ['q'], 'single-dash')).toEqual([
      ['-q', 'all.q'],
      ['-pe', 'smp 4'],
    ]);
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
    const resolved = resolve({ p: 'code', jobName: 'mine' }, env);
    expect(resolved.generic).toMatchObject({ logDir: '/file/logs', pollMs: 700, launchTimeoutMs: 5000, prologue: ['module load nodejs'], jobName: 'mine' });
    expect(resolved.flags).toEqual({ partition: 'code', time: '1:00:00', cpusPerTask: 4, exclusive: '' });
    expect(resolved.sources).toMatchObject({ partition: 'code', cpusPerTask: 'CM_SIMQ_CPUS_PER_TASK', time: expect.stringContaining('section "simq"') });
  });

  it('names the source of a bad value', () => {
    const file = write('bad-type.json', { simq: { cpusPerTask: 'many' } });
    expect(() => resolve({}, { CM_CONFIG: file })).toThrow(new RegExp(`\`cpusPerTask\` \\(from ${file} \\(section "simq"\\)\\)`));
    expect(() => resolve({}, { CM_CONFIG: write('empty.json', {}), CM_BATCH_POLL_MS: 'often' })).toThrow(/`pollMs` \(from CM_BATCH_POLL_MS\)/);
    expect(() => resolve({ pollMs: 1 }, { CM_CONFIG: write('empty.json', {}) })).toThrow(/`pollMs`: /);
  });

  it('refuses unreadable, malformed and misplaced configuration with the file and what to do', () => {
    expect(() => resolve({}, { CM_CONFIG: path.join(tmp, 'missing.json') })).toThrow(/cannot read the site config .*missing\.json \(named by CM_CONFIG\).*unset CM_CONFIG/);
    expect(() => resolve({}, { CM_CONFIG: write('broken.json', '{"simq": ') })).toThrow(/broken\.json is not valid JSON/);
    expect(() => resolve({}, { CM_CONFIG: write('array.json', { simq: ['x'] }) })).toThrow(/array\.json is malformed at `simq`/);
    const stray = write('stray.json', { batch: { partition: 'x' } });
    expect(() => resolve({}, { CM_CONFIG: stray })).toThrow(/`partition` \(from .*section "batch"\)\) is not an option of every scheduler; set it for one scheduler \(section "simq", or CM_SIMQ_\*\)/);
    expect(() => resolve({ p: 'a', partition: 'b' }, { CM_CONFIG: write('empty.json', {}) })).toThrow(UsageError);
  });

  it('refuses a misspelt option, in code or in a site config, naming the option it was meant to be', () => {
    expect(() => resolve({ partiton: 'debug' }, { CM_CONFIG: write('empty.json', {}) })).toThrow(
      /`partiton` is not a simq option \(did you mean `partition`\?\); pass other simq flags as words in `submitFlags` \(or `simqFlags`\)/,
    );
    const file = write('typo-key.json', { simq: { cpus_pr_task: 2 } });
    expect(() => resolve({}, { CM_CONFIG: file })).toThrow(new RegExp(`\`cpusPrTask\` \\(from ${file} \\(section "simq"\\)\\) is not a simq option \\(did you mean \`cpusPerTask\`\\?\\)`));
    expect(() => resolve({}, { CM_CONFIG: write('empty.json', {}), CM_SIMQ_PARTITON: 'x' })).toThrow(/`partiton` \(from CM_SIMQ_PARTITON\) is not a simq option/);
    expect(() => resolve({}, { CM_CONFIG: write('generic-typo.json', { batch: { logdir: '/x' } }) })).toThrow(/did you mean `logDir`/);
  });

  it('refuses a misspelt section, but not the section of a driver this program does not load', () => {
    const typo = write('typo-section.json', { slrum: { partition: 'x' } });
    registerDriverName('slurm');
    expect(() => resolve({}, { CM_CONFIG: write('simq-typo.json', { simqq: { partition: 'x' } }) })).toThrow(/section "simqq": did you mean "simq"\?/);
    expect(() => resolve({}, { CM_CONFIG: typo })).not.toThrow();
    expect(() => resolve({}, { CM_CONFIG: write('other.json', { sge: { q: 'all.q' }, lsf: { queue: 'normal' } }) })).not.toThrow();
  });

  it('keeps settings apart from flags, validated and read from site defaults', () => {
    const resolved = resolve({ partition: 'x' }, { CM_CONFIG: write('settings.json', { simq: { dialect: 'torque' } }) });
    expect(resolved.settings).toEqual({ dialect: 'torque' });
    expect(resolved.flags).toEqual({ partition: 'x' });
    expect(() => resolve({ dialect: 'sge' }, { CM_CONFIG: write('empty.json', {}) })).toThrow(/`dialect`/);
  });

  it('refuses a value with a newline (it would start another directive) and takes free flags as words', () => {
    expect(() => resolve({ partition: 'a\n#SIMQ --array=0-999' }, { CM_CONFIG: write('empty.json', {}) })).toThrow(/`partition`: must be one line/);
    expect(resolve({ simqFlags: ['--exclusive', '-l', 'h_vmem=4G'] }, { CM_CONFIG: write('empty.json', {}) }).generic.submitFlags).toEqual(['--exclusive', '-l', 'h_vmem=4G']);
  });

  it('a missing user or system file is not an error', () => {
    expect(resolve({}, { HOME: path.join(tmp, 'nobody') }).flags).toEqual({});
  });
});
