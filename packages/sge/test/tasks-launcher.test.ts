// The tasks layout's launcher, run by bash against a made-up $PE_HOSTFILE and a stand-in qrsh
// that records how it was called: one worker per slot group, the first in the job itself,
// every other through `qrsh -inherit` on its host, in the job's directory. (The integration
// tests run it on the real Grid Engine, where every slot is on one host.)
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { sgeDriver } from '../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cm-sge-launcher-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const launcher = sgeDriver({ memoryResource: 'h_vmem' }).layouts.tasks!.launcher!;

async function launch(hostfile: string, slotsPerWorker: number): Promise<{ local: string[]; inherited: string[]; remoteLine: string; record: string; dir: string }> {
  const dir = mkdtempSync(path.join(tmp, 'run-'));
  const record = path.join(dir, 'record');
  writeFileSync(path.join(dir, 'pe_hostfile'), hostfile);
  // Stand-in for qrsh: write its arguments and the worker index it was given.
  writeFileSync(path.join(dir, 'qrsh'), `#!/bin/sh\necho "qrsh $CM_SGE_WORKER $*" >> ${record}\nprintf %s "$5" > ${dir}/remote-line\n`);
  chmodSync(path.join(dir, 'qrsh'), 0o755);
  const workDir = path.join(dir);
  await execa(launcher[0]!, [...launcher.slice(1), 'sh', '-c', `echo "local $CM_SGE_WORKER $(pwd)" >> ${record}`], {
    cwd: workDir,
    env: { PATH: `${dir}:${process.env.PATH}`, PE_HOSTFILE: path.join(dir, 'pe_hostfile'), CM_SGE_SLOTS_PER_WORKER: String(slotsPerWorker) },
  });
  const lines = readFileSync(record, 'utf8').trim().split('\n').sort();
  const remoteLine = readFileSync(path.join(dir, 'remote-line'), 'utf8');
  return { local: lines.filter((l) => l.startsWith('local')), inherited: lines.filter((l) => l.startsWith('qrsh')).map((l) => l.replaceAll(dir, '<dir>')), remoteLine, record, dir };
}

describe('tasks launcher', () => {
  it('starts one worker per slot: the first locally, the rest with qrsh -inherit on their hosts, in the job directory', async () => {
    const { local, inherited, remoteLine, record, dir } = await launch('hostA 2 all.q@hostA UNDEFINED\nhostB 2 all.q@hostB UNDEFINED\n', 1);
    expect(local).toEqual([`local 0 ${dir}`]);
    expect(inherited.map((l) => l.replace(/ cd .*$/, ''))).toEqual(['qrsh 1 -inherit -nostdin -V hostA', 'qrsh 2 -inherit -nostdin -V hostB', 'qrsh 3 -inherit -nostdin -V hostB']);
    // The remote shell gets one line (qrsh flattens its arguments): run from $HOME, it still
    // starts the worker command intact, in the job's directory.
    expect(remoteLine).toMatch(/^cd \S+ && exec sh -c /);
    await execa('bash', ['-c', remoteLine], { cwd: os.homedir(), env: { CM_SGE_WORKER: '9' } });
    expect(readFileSync(record, 'utf8')).toContain(`local 9 ${dir}\n`);
  });

  it('gives each worker `slots` slots of its host', async () => {
    const { local, inherited } = await launch('hostA 4 all.q@hostA UNDEFINED\nhostB 2 all.q@hostB UNDEFINED\n', 2);
    expect(local.map((l) => l.split(' ')[1])).toEqual(['0']);
    expect(inherited.map((l) => l.split(' ').slice(0, 6).join(' '))).toEqual(['qrsh 1 -inherit -nostdin -V hostA', 'qrsh 2 -inherit -nostdin -V hostB']);
  });
});
