/**
 * The one gate of the Slurm integration tests: they need a running Slurm. Under `CI=true` a
 * missing Slurm fails the run (CI starts it first); locally the tests are skipped with a
 * message saying how to start it.
 */
import { execaSync } from 'execa';

const HOW = 'start the single-node Slurm with `bash tooling/schedulers/slurm.sh up` (as root, from the repository root)';

function answers(): string | undefined {
  const result = execaSync('sinfo', ['--noheader', '--format=%T'], { reject: false, timeout: 10_000 });
  if (result.exitCode === 0 && String(result.stdout).trim()) return undefined;
  return String(result.stderr || result.stdout || result.shortMessage || 'sinfo printed nothing')
    .trim()
    .split('\n')[0];
}

/** Whether Slurm answers; throws under CI when it does not. */
export function slurmIsUp(): boolean {
  const problem = answers();
  if (!problem) return true;
  if (process.env.CI === 'true') throw new Error(`Slurm is not up (${problem}): CI must ${HOW} before the tests`);
  console.warn(`[@cm/slurm] skipping the Slurm integration tests: Slurm is not up (${problem}); ${HOW}`);
  return false;
}
