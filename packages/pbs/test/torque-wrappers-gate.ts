/**
 * The one gate of the tests against SchedMD's Torque-compatible wrappers over the running
 * Slurm: under `CI=true` a missing install fails the run (CI starts it first); locally the
 * tests are skipped with a message saying how to start it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';

const SCRIPT = fileURLToPath(new URL('../../../tooling/schedulers/torque-wrappers.sh', import.meta.url));
const HOW = `start Slurm and install the wrappers with \`bash tooling/schedulers/slurm.sh up && bash tooling/schedulers/torque-wrappers.sh up\` (as root, from the repository root)`;

/** The wrappers' bin directory (to put first on PATH), or undefined when they do not answer; throws under CI. */
export function torqueWrappersBin(): string | undefined {
  const status = execaSync('bash', [SCRIPT, 'status'], { reject: false, timeout: 30_000 });
  if (status.exitCode === 0) {
    const env = execaSync('bash', [SCRIPT, 'env'], { timeout: 30_000 });
    const dir = /^export PATH=([^:]+):/m.exec(String(env.stdout))?.[1];
    if (dir) return path.resolve(dir);
  }
  const problem = String(status.stdout || status.stderr || status.shortMessage || 'no answer')
    .trim()
    .split('\n')[0];
  if (process.env.CI === 'true') throw new Error(`the Torque wrappers over Slurm are not up (${problem}): CI must ${HOW} before the tests`);
  console.warn(`[@cm/pbs] skipping the Torque-wrapper tests: ${problem}; ${HOW}`);
  return undefined;
}
