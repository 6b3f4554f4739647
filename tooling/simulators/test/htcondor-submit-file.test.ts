// Unit tests of the HTCondor submit description parser, macros, argument/environment syntax
// and the ClassAd pieces condor_q prints (no processes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, jsonAds, longAds } from '../htcondor/classad.mjs';
import { expandMacros, getenvSelection, parseArguments, parseEnvironment, parseSubmitFile, sizeIn } from '../htcondor/submit-file.mjs';

const cwd = os.tmpdir();
const procsOf = (text: string) => {
  const parsed = parseSubmitFile(text, { cwd });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.procs;
};

describe('submit description', () => {
  it('queues N copies and lets keys set between queue lines apply to later queues only', () => {
    const procs = procsOf('Executable = /bin/echo\n# comment\noutput = a.out\nqueue 2\noutput = b.out\nQueue\n');
    expect(procs.map((p) => p.keys.output)).toEqual(['a.out', 'a.out', 'b.out']);
    expect(procs[0]?.keys.executable).toBe('/bin/echo');
  });
  it('reads custom attributes, continuation lines and queue … in/from lists', () => {
    const procs = procsOf('+ProjectName = "cm"\nMY.JobId = "$(ClusterId).$(ProcId)"\narguments = a \\\n b\nqueue name in (x, y\n z)\nqueue 2 a,b from (\n1 one\n2 two\n)\n');
    expect(procs[0]?.custom).toEqual({ ProjectName: '"cm"', JobId: '"$(ClusterId).$(ProcId)"' });
    expect(procs[0]?.keys.arguments).toBe('a  b');
    expect(procs.map((p) => p.vars)).toEqual([{ name: 'x' }, { name: 'y' }, { name: 'z' }, { a: '1', b: 'one' }, { a: '1', b: 'one' }, { a: '2', b: 'two' }, { a: '2', b: 'two' }]);
  });
  it('queues one proc per file for queue … matching', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-match-'));
    for (const name of ['b.dat', 'a.dat', 'c.txt']) fs.writeFileSync(path.join(dir, name), '');
    const parsed = parseSubmitFile('queue f matching *.dat\n', { cwd: dir });
    fs.rmSync(dir, { recursive: true, force: true });
    expect('procs' in parsed && parsed.procs.map((p) => p.vars.f)).toEqual(['a.dat', 'b.dat']);
  });
  it('reports a line it cannot parse with its number', () => {
    expect(parseSubmitFile('executable = x\nthis is not a key\nqueue\n', { cwd })).toEqual({ error: 'Failed to parse command file (line 2).' });
  });
  it('expands $(Cluster)/$(Process)/$(JobId), other keys, defaults, $ENV and $INT', () => {
    const context = { cluster: 42, proc: 3, keys: { base: 'w', out: '$(base).$(Cluster)' }, vars: { Item: 'it' }, step: 0, row: 3, env: { HOME: '/h' } };
    expect(expandMacros('$(out).$(Process) $(JobId) $(ProcId) $(Item) $(nope) $(nope:dflt)', context)).toBe('w.42.3 42.3 3 it  dflt');
    expect(expandMacros('$ENV(HOME) $INT(ClusterId,%05d)', context)).toBe('/h 00042');
  });
  it('splits arguments and environment in the new and old syntax', () => {
    expect(parseArguments(`"-x 'two words' say ""hi"" 'it''s'"`)).toEqual(['-x', 'two words', 'say', '"hi"', "it's"]);
    expect(parseArguments('-x a\\"b')).toEqual(['-x', 'a"b']);
    expect(parseEnvironment(`"A=1 MSG='two words' EMPTY="`)).toEqual({ A: '1', MSG: 'two words', EMPTY: '' });
    expect(parseEnvironment('A=1;B=2')).toEqual({ A: '1', B: '2' });
  });
  it('selects the submit environment with getenv True or a matchlist', () => {
    const env = { PATH: '/bin', CM_A: '1', CM_SECRET: 's', HOME: '/h' };
    expect(getenvSelection('True', env)).toEqual(env);
    expect(getenvSelection(undefined, env)).toEqual({});
    expect(getenvSelection('path, !cm_secret*, CM_*', env)).toEqual({ PATH: '/bin', CM_A: '1' });
  });
  it('reads request_memory in MB and request_disk in KiB with unit suffixes', () => {
    expect(sizeIn('8 GB', 'MB')).toBe(8192);
    expect(sizeIn('512', 'MB')).toBe(512);
    expect(sizeIn('1G', 'KB')).toBe(1048576);
    expect(sizeIn('lots', 'MB')).toBeNull();
  });
});

describe('ClassAds', () => {
  it('evaluates constraints with undefined, case-insensitive string == and =?=', () => {
    const ad = { ClusterId: 12, ProcId: 0, Owner: 'alice', JobStatus: 2 };
    expect(compile('ClusterId == 12 && ProcId == 0')(ad)).toBe(true);
    expect(compile('Owner == "ALICE"')(ad)).toBe(true);
    expect(compile('Owner =?= "ALICE"')(ad)).toBe(false);
    expect(compile('HoldReason == "x"')(ad)).toBeNull();
    expect(compile('HoldReason =?= undefined && (JobStatus == 1 || JobStatus == 2)')(ad)).toBe(true);
    expect(() => compile('ClusterId ==')).toThrow();
  });
  it('prints -json like the ClassAd list writer and -long as Attr = value lines', () => {
    const ads = [
      { ProcId: 0, ClusterId: 1, Cmd: '/bin/x', Requirements: { expr: 'true' } },
      { ProcId: 1, ClusterId: 1, Cmd: '/bin/x', Requirements: { expr: 'true' } },
    ];
    expect(jsonAds(ads, ['ProcId', 'ClusterId'])).toBe('[\n{\n  "ClusterId": 1,\n  "ProcId": 0\n}\n,\n{\n  "ClusterId": 1,\n  "ProcId": 1\n}\n]\n');
    expect(jsonAds([], null)).toBe('');
    expect(jsonAds([ads[0]], ['Requirements'])).toContain('"Requirements": "\\/Expr(true)\\/"');
    expect(longAds([ads[0]], null)).toBe('ClusterId = 1\nCmd = "/bin/x"\nProcId = 0\nRequirements = true\n\n');
  });
});
