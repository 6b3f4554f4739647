// @ts-check
/**
 * The MOM's part at task end that the engine cannot know: a job killed for walltime gets
 * `=>> PBS: job killed: walltime <used> exceeded limit <limit>` on its stderr stream
 * (OpenPBS mom_main.c, same text in Torque), before the output is delivered.
 * @module
 */
import fs from 'node:fs';

/**
 * @param {{ job: import('../engine.mjs').JobRecord, task: import('../engine.mjs').SpawnSpec, record: import('../engine.mjs').TaskRecord,
 *   spool: { stdout: string | null, stderr: string | null } }} end
 */
export async function onTaskEnd({ job, task, record, spool }) {
  if (record.cause !== 'walltime' || record.startedAt === undefined) return;
  const limit = Number(job.meta.walltimeSeconds);
  // The MOM notices on a poll after the limit passed: the used time it reports is over the limit.
  const used = Math.max(limit + 1, Math.ceil(((record.endedAt ?? Date.now()) - record.startedAt) / 1000));
  const joined = task.stderr === 'stdout';
  const target = joined ? (spool.stdout ?? task.stdout?.path) : (spool.stderr ?? (typeof task.stderr === 'object' ? task.stderr?.path : undefined));
  if (target) fs.appendFileSync(target, `=>> PBS: job killed: walltime ${used} exceeded limit ${limit}\n`);
}
