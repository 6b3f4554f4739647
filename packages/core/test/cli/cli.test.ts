// The `cm` command line, run as a user runs it (the built bin, a child process) against simq:
// help and exit codes, `script`, `config` with its sources, `doctor` passing and failing at
// the step that failed, `run`, and loading a third party's driver by package name.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const testingEntry = fileURLToPath(new URL('../../dist/testing/index.js', import.meta.url));
const work = mkdtempSync(path.join(os.tmpdir(), 'cm-cli-'));
const logDir = path.join(work, 'logs');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `cm …` in `cwd` (the package, so `@cm/core/testing` resolves), with simq state of its own. */
function cm(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? fileURLToPath(new URL('../..', import.meta.url)),
    env: { SIMQ_DIR: path.join(work, 'simq'), HOME: work, XDG_CONFIG_HOME: path.join(work, 'config'), ...options.env },
    reject: false,
    timeout: 60_000,
  });
}

describe('cm: help and exit codes', () => {
  it('lists the commands with --help (exit 0), and asks for one when none is given (exit 2)', async () => {
    const help = await cm(['--help']);
    expect(help.exitCode).toBe(0);
    for (const name of ['script', 'doctor', 'run', 'config']) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const none = await cm([]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/^Usage: cm <command> <driver>/);
  });

  it('explains every command with --help', async () => {
    for (const name of ['script', 'doctor', 'run', 'config']) {
      const result = await cm([name, '--help']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: cm ${name} <driver>`));
    }
  });

  it('refuses an unknown command, a missing driver and a misspelt option with exit 2 and what to do', async () => {
    const unknown = await cm(['scrpit', 'simq']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('no command "scrpit"; the commands are script, doctor, run, config');
    const missing = await cm(['script', 'nosuchdriver']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('@cm/nosuchdriver and nosuchdriver cannot be found');
    expect(missing.stderr).toContain('`npm install @cm/nosuchdriver`');
    const typo = await cm(['script', 'simq', '--queu', 'short']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('`queu` is not a simq option (did you mean `queue`?)');
  });
});

describe('cm script', () => {
  it('prints the job script with the options typed by the driver’s schema, without submitting', async () => {
    const result = await cm(['script', 'simq', '-n', '3', '--queue', 'short', '--time', '60', '--log-dir', logDir]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^#!\/bin\/bash\n#SIMQ --name=cm\n/);
    expect(result.stdout).toContain('#SIMQ --array=0-2\n#SIMQ --queue=short\n#SIMQ --time=60\n');
    expect(result.stdout).toContain('export CM_ENDS_AT=$(( ($(date +%s) + 60) * 1000 ))');
    expect(result.stdout).not.toMatch(/CM_SECRET=/);
    const json = await cm(['script', 'simq', '--json', '--log-dir', logDir]);
    expect(JSON.parse(json.stdout)).toMatchObject({ driver: 'simq', package: '@cm/core/testing', script: expect.stringContaining('#SIMQ --name=cm') as unknown });
  });

  it('says a driver without a queue submits no script', async () => {
    const result = await cm(['script', 'simq', '--variant', 'processes', '--log-dir', logDir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('submits no job script');
  });
});

describe('cm config', () => {
  it('prints each resolved option and where it came from: command line, config file, variable, default', async () => {
    const site = path.join(work, 'site.json');
    writeFileSync(site, JSON.stringify({ batch: { jobName: 'site-jobs' }, simq: { queue: 'main', time: 120 } }));
    const env = { CM_CONFIG: site, CM_SIMQ_QUEUE: 'short' };
    const text = await cm(['config', 'simq', '--time', '30'], { env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^ {2}queue +"short" +\(CM_SIMQ_QUEUE\)$/m);
    expect(text.stdout).toMatch(/^ {2}time +30 +\(command line\)$/m);
    expect(text.stdout).toMatch(new RegExp(`^  jobName +"site-jobs" +\\(${site.replace(/[/.]/g, '\\$&')} \\(section "batch"\\)\\)$`, 'm'));
    expect(text.stdout).toMatch(/^ {2}pollMs +1000 +\(default\)$/m);
    const json = JSON.parse((await cm(['config', 'simq', '--json'], { env })).stdout) as { files: string[]; options: { option: string; value: unknown; source: string }[] };
    expect(json.files).toEqual([site]);
    expect(json.options.find((o) => o.option === 'time')).toEqual({ option: 'time', value: 120, source: `${site} (section "simq")` });
  });
});

describe('cm doctor', () => {
  it('reports every step of one tiny job with its time, and exits 0', async () => {
    const result = await cm(['doctor', 'simq', '--json', '--log-dir', logDir, '--timeout', '30']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; steps: { step: string; ok: boolean; ms: number }[] };
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => s.step)).toEqual(['submitted', 'queued', 'started', 'connected', 'authenticated', 'round trip', 'cancelled']);
    expect(report.steps.every((s) => s.ok)).toBe(true);
    const times = report.steps.map((s) => s.ms);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('names the step that failed and what to try when the node cannot reach the advertised address (exit 1)', async () => {
    // 10.255.255.1 routes nowhere here: the job runs, its worker never connects.
    const result = await cm(['doctor', 'simq', '--advertise-host', '10.255.255.1', '--timeout', '4', '--log-dir', logDir, '--progress', 'none']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^ok {3}started /m);
    expect(result.stdout).toMatch(/^FAIL connected /m);
    expect(result.stderr).toMatch(/cm doctor: connected failed — the compute node cannot reach 10\.255\.255\.1:\d+: try --interface <name> \(here: lo /);
  });
});

describe('cm run', () => {
  it('runs a script’s default export with N workers and prints what it returns', async () => {
    const script = path.join(work, 'double.mjs');
    writeFileSync(script, 'export default async (cluster, { args, workers }) => ({ workers: workers.length, doubled: await cluster.pmap((x) => x * 2, [1, 2, 3]), args });\n');
    const result = await cm(['run', 'simq', '-n', '2', script, '--json', '--log-dir', logDir, '--progress', 'none', '--', 'a', 'b']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ workers: 2, doubled: [2, 4, 6], args: ['a', 'b'] });
  });

  it('exits 1 with the script’s error, and 2 for a file without a default export', async () => {
    const failing = path.join(work, 'fails.mjs');
    writeFileSync(failing, 'export default async () => { throw new Error("the model diverged"); };\n');
    const failed = await cm(['run', 'simq', '-n', '1', failing, '--log-dir', logDir, '--progress', 'none']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toBe('cm run: the model diverged');
    const plain = path.join(work, 'plain.mjs');
    writeFileSync(plain, 'export const x = 1;\n');
    const usage = await cm(['run', 'simq', plain]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('has no default export function');
  });
});

describe('cm and third-party drivers', () => {
  it('loads a package by name from the current directory, through `cmDriver` or its one manager class', async () => {
    const project = path.join(work, 'project');
    for (const [name, body] of [
      ['site-driver', `import { cmDriver as simq } from ${JSON.stringify(testingEntry)};\nexport const cmDriver = { ...simq, name: 'site' };\n`],
      ['class-only-driver', `export { SimulatedQueueManager } from ${JSON.stringify(testingEntry)};\n`],
    ] as const) {
      const dir = path.join(project, 'node_modules', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, type: 'module', exports: './index.js' }));
      writeFileSync(path.join(dir, 'index.js'), body);
    }
    for (const name of ['site-driver', 'class-only-driver']) {
      const result = await cm(['script', name, '--queue', 'short', '--log-dir', logDir], { cwd: project });
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('#SIMQ --queue=short');
    }
  });
});
