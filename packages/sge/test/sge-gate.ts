/**
 * The one gate of the Grid Engine integration tests: they need the real Grid Engine of
 * tooling/schedulers/gridengine.sh. The gate takes the client environment (SGE_ROOT,
 * SGE_CELL, SGE_ARCH, PATH) from `gridengine.sh env` itself, then asks qstat. Under
 * `CI=true` a Grid Engine that does not answer fails the run (CI starts it first); locally the
 * tests are skipped with a message saying how to start it.
 */
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';

const SCRIPT = fileURLToPath(new URL('../../../tooling/schedulers/gridengine.sh', import.meta.url));
const HOW = 'start it with `bash tooling/schedulers/gridengine.sh up` (as root, from the repository root)';

/** Put `gridengine.sh env`'s `export NAME=value` lines into this process's environment. */
function loadClientEnvironment(): string | undefined {
  const env = execaSync('bash', [SCRIPT, 'env'], { reject: false, timeout: 10_000 });
  if (env.exitCode !== 0)
    return String(env.stderr || env.shortMessage)
      .trim()
      .split('\n')[0];
  for (const line of String(env.stdout).split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) process.env[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1');
  }
  return undefined;
}

function answers(): string | undefined {
  const problem = loadClientEnvironment();
  if (problem) return `gridengine.sh env failed: ${problem}`;
  const status = execaSync('bash', [SCRIPT, 'status'], { reject: false, timeout: 20_000 });
  if (status.exitCode === 0) return undefined;
  return String(status.stdout || status.stderr || status.shortMessage || 'gridengine.sh status failed')
    .trim()
    .split('\n')[0];
}

/** Whether Grid Engine answers (with its client environment now set); throws under CI when it does not. */
export function gridEngineIsUp(): boolean {
  const problem = answers();
  if (!problem) return true;
  if (process.env.CI === 'true') throw new Error(`Grid Engine is not up (${problem}): CI must ${HOW} before the tests`);
  console.warn(`[@cm/sge] skipping the Grid Engine integration tests: Grid Engine is not up (${problem}); ${HOW}`);
  return false;
}
