/**
 * Asking a scheduler, through a driver's own status command, which of some jobs are still
 * queued or running — how tests check that nothing of ours is left behind.
 * @module
 */
import { type SchedulerDriver, classifyStatus, isInQueue } from '../batch/driver.js';
import { type CommandRunner, localRunner } from '../batch/runner.js';
import { sleep } from '../util/backoff.js';

/** The ids among `jobIds` that the scheduler still has queued or running (an array counts while any task does). */
export async function liveJobs(driver: SchedulerDriver, jobIds: readonly string[], runner: CommandRunner = localRunner): Promise<string[]> {
  if (jobIds.length === 0) return [];
  const argv = driver.status.command(jobIds);
  const output = await runner.run(driver.name, argv);
  const raw = driver.status.parse(output);
  if (!raw) throw new Error(`${argv.join(' ')} failed (exit code ${String(output.exitCode)}): ${output.stderr}`);
  const live = new Set(
    raw
      .map((line) => classifyStatus(driver, line))
      .filter((status) => isInQueue(status.kind))
      .map((status) => status.jobId),
  );
  return jobIds.filter((id) => live.has(id));
}

/**
 * Wait until none of `jobIds` is queued or running any more.
 * @throws Error naming the jobs still live after `timeoutMs`
 */
export async function waitUntilGone(driver: SchedulerDriver, jobIds: readonly string[], timeoutMs: number, runner: CommandRunner = localRunner): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = await liveJobs(driver, jobIds, runner);
    if (live.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${driver.name} jobs still queued or running ${timeoutMs} ms later: ${live.join(', ')}`);
    await sleep(250);
  }
}
