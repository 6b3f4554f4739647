#!/usr/bin/env node
/**
 * The packaging check: what a site gets from the registry, tried before anything is
 * published. `pnpm pack` every publishable package; install @cm/core and @cm/slurm from
 * the tarballs into a scratch project outside the workspace with plain `npm install`; run a
 * program there on local workers and one on simq, and the `cm` bin; typecheck a strict
 * TypeScript consumer (`moduleResolution: nodenext`) against the packed types; and run
 * `changeset version` on a scratch copy of the workspace to see the versions a core minor
 * gives. Run by tooling/packaging/check.test.ts (part of `pnpm test`); exits non-zero with
 * what failed.
 *
 *   node tooling/packaging/check.mjs [--keep]    (--keep leaves the scratch dirs for a look)
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('../..', import.meta.url));
const keep = process.argv.includes('--keep');
const quietNpm = { npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'error' };

/** Every package of packages/ that is published (not private), by name → directory. */
export function publishablePackages() {
  const out = new Map();
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    const file = path.join(root, 'packages', dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    if (!manifest.private) out.set(manifest.name, path.join(root, 'packages', dir));
  }
  return out;
}

function step(message) {
  process.stdout.write(`packaging: ${message}\n`);
}

async function run(file, args, options) {
  const result = await execa(file, args, { reject: false, timeout: 300_000, ...options });
  if (result.exitCode !== 0) {
    throw new Error(
      `\`${[file, ...args].join(' ')}\` in ${options?.cwd ?? process.cwd()} failed (exit ${result.exitCode}):\n${String(result.stderr || result.stdout)
        .trim()
        .split('\n')
        .slice(-30)
        .join('\n')}`,
    );
  }
  return result;
}

/** `pnpm pack` each package into `dest` (workspace: ranges become versions); name → tarball. */
async function packAll(dest) {
  const tarballs = new Map();
  for (const [name, dir] of publishablePackages()) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', dest], { cwd: dir });
    const tarball = stdout.trim().split('\n').at(-1);
    if (!tarball?.endsWith('.tgz') || !existsSync(tarball)) throw new Error(`pnpm pack of ${name} printed no tarball: ${stdout}`);
    const { stdout: list } = await run('tar', ['-tzf', tarball]);
    const files = list.split('\n');
    const problems = [
      ...files.filter((f) => /\.test\.(js|d\.ts)$/.test(f)).map((f) => `ships a test file ${f}`),
      ...(files.includes('package/dist/index.js') ? [] : ['has no dist/index.js (not built?)']),
      ...(files.includes('package/README.md') ? [] : ['has no README.md']),
    ];
    if (problems.length) throw new Error(`${name}'s tarball ${problems.join('; ')}`);
    tarballs.set(name, tarball);
  }
  return tarballs;
}

// Plain JavaScript as a site writes it on Node 20 (no \`await using\` there yet).
const LOCAL_PROGRAM = `import { Cluster, LocalManager, myid } from '@cm/core';
const cluster = new Cluster();
try {
  await cluster.addprocs(new LocalManager(2));
  const squares = await cluster.pmap((x) => x * x, [1, 2, 3, 4]);
  const ids = await cluster.everywhere(() => myid());
  console.log(JSON.stringify({ squares, ids }));
} finally {
  await cluster.close();
}
`;

const SIMQ_PROGRAM = `import { Cluster } from '@cm/core';
import { SimulatedQueueManager } from '@cm/core/testing';
import { SlurmManager, cmDriver } from '@cm/slurm';
const logDir = process.argv[2];
const cluster = new Cluster({ logLevel: 'error' });
try {
  await cluster.addprocs(new SimulatedQueueManager(2, { logDir, progress: 'none' }));
  const sum = (await cluster.pmap((x) => x + 1, [1, 2, 3])).reduce((a, b) => a + b, 0);
  const script = new SlurmManager(2, { partition: 'debug', logDir }).jobScript();
  console.log(JSON.stringify({ sum, driver: cmDriver.name, tasks: script.includes('#SBATCH --ntasks=2') }));
} finally {
  await cluster.close();
}
`;

const CONSUMER = `import { Cluster, LocalManager, UsageError, fetchFuture, isWorkerLostError, type ClusterOptions } from '@cm/core';
import { JobQueueManager, type SchedulerDriver, type CmDriver } from '@cm/core/driver';
import { describeBatchDriver, SimulatedQueueManager } from '@cm/core/testing';
import { SlurmManager, cmDriver, type SlurmOptions } from '@cm/slurm';

const options: ClusterOptions = { host: '127.0.0.1' };
const cluster = new Cluster(options);
const slurm: SlurmOptions = { partition: 'debug', cpusPerTask: 2 };
const manager: JobQueueManager = new SlurmManager(2, slurm);
const descriptor: CmDriver = cmDriver;
const sim = new SimulatedQueueManager(1, { queue: 'short' });
const driver: SchedulerDriver | undefined = undefined;
async function use(): Promise<number> {
  await cluster.addprocs(new LocalManager(1));
  const n: number = await cluster.remotecallFetch(2, (a: number, b: number) => a + b, 1, 2);
  const same: number = await fetchFuture(cluster.remotecall(2, () => 3));
  return n + same;
}
// @ts-expect-error the user entry has no driver internals
import type { submitJob } from '@cm/core';
void [use, manager, descriptor, sim, driver, UsageError, isWorkerLostError, describeBatchDriver];
`;

/** Install core and slurm from tarballs into a project outside the workspace, and use them there. */
async function installAndUse(tarballs, scratch) {
  const project = path.join(scratch, 'site');
  mkdirSync(project);
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'cm-packaging-site',
        private: true,
        type: 'module',
        dependencies: { '@cm/core': `file:${tarballs.get('@cm/core')}`, '@cm/slurm': `file:${tarballs.get('@cm/slurm')}` },
        devDependencies: { '@types/node': '20.19.43' },
      },
      null,
      2,
    ),
  );
  step('npm install @cm/core and @cm/slurm from their tarballs (outside the workspace)');
  const install = await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: project, env: quietNpm });
  const warnings = String(install.stderr)
    .split('\n')
    .filter((line) => /npm warn/i.test(line));
  if (warnings.length) throw new Error(`npm install warned:\n${warnings.join('\n')}`);

  step('a program on local workers');
  writeFileSync(path.join(project, 'local.mjs'), LOCAL_PROGRAM);
  const local = JSON.parse((await run(process.execPath, ['local.mjs'], { cwd: project })).stdout);
  if (JSON.stringify(local) !== JSON.stringify({ squares: [1, 4, 9, 16], ids: [2, 3] })) throw new Error(`the local program printed ${JSON.stringify(local)}`);

  step('a program on simq, and a Slurm job script');
  const logDir = path.join(scratch, 'logs');
  writeFileSync(path.join(project, 'simq.mjs'), SIMQ_PROGRAM);
  const simq = JSON.parse((await run(process.execPath, ['simq.mjs', logDir], { cwd: project, env: { SIMQ_DIR: path.join(scratch, 'simq') } })).stdout);
  if (JSON.stringify(simq) !== JSON.stringify({ sum: 9, driver: 'slurm', tasks: true })) throw new Error(`the simq program printed ${JSON.stringify(simq)}`);

  step('the cm bin: cm script slurm');
  const cm = await run(path.join(project, 'node_modules', '.bin', 'cm'), ['script', 'slurm', '-n', '3', '--partition', 'debug', '--log-dir', logDir], { cwd: project });
  if (!cm.stdout.includes('#SBATCH --ntasks=3')) throw new Error(`cm script slurm printed:\n${cm.stdout}`);

  step('typecheck a strict TypeScript consumer (nodenext) against the packed types');
  writeFileSync(path.join(project, 'consumer.ts'), CONSUMER);
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2023', 'esnext.disposable'],
        noEmit: true,
        types: ['node'],
        skipLibCheck: false,
        verbatimModuleSyntax: true,
      },
      files: ['consumer.ts'],
    }),
  );
  const tsc = path.join(root, 'packages', 'core', 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
}

/** `changeset version` on a copy of the workspace's manifests with only a core minor pending. */
async function changesetDryRun(scratch) {
  const copy = path.join(scratch, 'workspace');
  mkdirSync(path.join(copy, '.changeset'), { recursive: true });
  cpSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
  cpSync(path.join(root, 'pnpm-workspace.yaml'), path.join(copy, 'pnpm-workspace.yaml'));
  cpSync(path.join(root, '.changeset', 'config.json'), path.join(copy, '.changeset', 'config.json'));
  const before = new Map();
  for (const [name, dir] of publishablePackages()) {
    const target = path.join(copy, path.relative(root, dir));
    mkdirSync(target, { recursive: true });
    cpSync(path.join(dir, 'package.json'), path.join(target, 'package.json'));
    before.set(name, JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version);
  }
  for (const dir of ['tooling', 'examples', 'bench', 'examples/ssh-driver']) {
    if (!existsSync(path.join(root, dir, 'package.json'))) continue;
    mkdirSync(path.join(copy, dir), { recursive: true });
    cpSync(path.join(root, dir, 'package.json'), path.join(copy, dir, 'package.json'));
  }
  writeFileSync(path.join(copy, '.changeset', 'core-minor.md'), `---\n'@cm/core': minor\n---\n\nA core minor, to see what it does to the drivers.\n`);
  step('changeset version on a scratch copy with one core minor pending');
  await run(path.join(root, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: copy });
  const after = new Map([...before.keys()].map((name) => [name, JSON.parse(readFileSync(path.join(copy, path.relative(root, publishablePackages().get(name)), 'package.json'), 'utf8')).version]));
  const [major, minor] = before.get('@cm/core').split('.').map(Number);
  const expectedCore = `${major}.${minor + 1}.0`;
  if (after.get('@cm/core') !== expectedCore) throw new Error(`@cm/core went ${before.get('@cm/core')} → ${after.get('@cm/core')}, expected ${expectedCore}`);
  const bumped = [...after].filter(([name, version]) => name !== '@cm/core' && version !== before.get(name));
  if (bumped.length) throw new Error(`a core minor bumped drivers: ${bumped.map(([n, v]) => `${n} ${before.get(n)} → ${v}`).join(', ')}; check the peer ranges (docs/releasing.md)`);
  return Object.fromEntries(after);
}

export async function check() {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'cm-packaging-'));
  try {
    step(`pnpm pack ${publishablePackages().size} packages`);
    const tarballs = await packAll(path.join(scratch, 'tarballs'));
    await installAndUse(tarballs, scratch);
    const versions = await changesetDryRun(scratch);
    step(
      `ok; versions after a core minor: ${Object.entries(versions)
        .map(([n, v]) => `${n} ${v}`)
        .join(', ')}`,
    );
  } finally {
    if (keep) step(`kept ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    await check();
  } catch (error) {
    process.stderr.write(`packaging: ${error.message}\n`);
    process.exitCode = 1;
  }
}
