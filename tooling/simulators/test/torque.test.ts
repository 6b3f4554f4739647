// The Torque simulator against pbs.md §7 (Torque differences) and the Torque 34ff845 sources.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setup, waitFor } from './helpers.js';

let t: ReturnType<typeof setup>;
beforeEach(() => {
  t = setup('torque', { killDelaySeconds: 2 });
});
afterEach(async () => {
  await t.cleanup();
});

/** `qstat -f` as name → value (time values as printed). */
async function full(id: string): Promise<Record<string, string>> {
  const { stdout } = await t.run('qstat', ['-f', id]);
  const unwrapped = stdout.replaceAll('\n\t', '');
  return Object.fromEntries(
    unwrapped
      .split('\n')
      .filter((l) => l.startsWith('    '))
      .map((l) => [l.slice(4, l.indexOf(' = ')), l.slice(l.indexOf(' = ') + 3)]),
  );
}
const untilState = (id: string, state: string) => waitFor(`${id} in ${state}`, async () => ((await full(id)).job_state === state ? full(id) : undefined));

describe('qsub', () => {
  it('prints <seq>.<server>; --version goes to stderr', async () => {
    expect(await t.run('qsub', [], { input: 'true\n' })).toMatchObject({ stdout: '1.torque\n', exitCode: 0 });
    expect(await t.run('qstat', ['--version'])).toMatchObject({ stdout: '', stderr: 'Version: 6.1.3\nCommit: \n', exitCode: 0 });
  });

  it('refuses an unknown queue as `submit error (... MSG=...)`, exit 170', async () => {
    expect(await t.run('qsub', ['-q', 'nosuch'], { input: 'true\n' })).toMatchObject({ stderr: 'qsub: submit error (Unknown queue MSG=requested queue not found)\n', exitCode: 170 });
  });

  it('a transient failure says it cannot connect', async () => {
    t.sim.inject({ submit: { kind: 'transient' } });
    expect(await t.run('qsub', [], { input: 'true\n' })).toMatchObject({ stdout: '', stderr: 'qsub: cannot connect to server torque (errno=111) Connection refused\n', exitCode: 111 });
    expect((await t.run('qsub', [], { input: 'true\n' })).stdout).toBe('1.torque\n');
  });
});

describe('jobs', () => {
  it('-t arrays: PBS_ARRAYID, subjob names <name>-<i>, files <name>.o<seq>-<i>', async () => {
    const script = '#PBS -N arr\n#PBS -t 1,3-4\necho "$PBS_ARRAYID $PBS_JOBID $PBS_JOBNAME $(pwd)"\n';
    expect((await t.run('qsub', [], { input: script })).stdout).toBe('1[].torque\n');
    for (const i of [1, 3, 4]) {
      const file = path.join(t.workdir, `arr.o1-${i}`);
      await waitFor(`output of subjob ${i}`, () => fs.existsSync(file));
      expect(fs.readFileSync(file, 'utf8')).toBe(`${i} 1[${i}].torque arr-${i} ${t.home}\n`);
    }
    await waitFor('array completed', async () =>
      (await t.run('qstat', ['-t', '1[].torque'])).stdout
        .split('\n')
        .slice(2, -1)
        .every((l) => l.split(/\s+/)[4] === 'C'),
    );
  });

  it('-d sets the working directory (PBS_O_INITDIR); C state with exit_status, then forgotten', async () => {
    const sim2 = setup('torque', { keepCompletedSeconds: 2 });
    try {
      const { stdout } = await sim2.run('qsub', ['-d', sim2.workdir, '-N', 'wd', '-j', 'oe'], { input: 'echo "$(pwd) $PBS_O_INITDIR"; exit 3\n' });
      const id = stdout.trim();
      const job = await waitFor('completed', async () => {
        const text = (await sim2.run('qstat', ['-f', id])).stdout;
        return text.includes('    job_state = C\n') ? text : undefined;
      });
      expect(job).toContain('    exit_status = 3\n');
      expect(fs.readFileSync(path.join(sim2.workdir, 'wd.o1'), 'utf8')).toBe(`${sim2.workdir} ${sim2.workdir}\n`);
      const gone = await waitFor('purged after keep_completed', async () => {
        const r = await sim2.run('qstat', [id]);
        return r.exitCode === 153 ? r : undefined;
      });
      expect(gone.stderr).toBe(`qstat: Unknown Job Id Error ${id}\n`);
    } finally {
      await sim2.cleanup();
    }
  });

  it('walltime: exit_status -11 and the MOM message', async () => {
    await t.run('qsub', ['-l', 'walltime=1', '-N', 'slow'], { input: 'sleep 60\n' });
    expect((await untilState('1.torque', 'C')).exit_status).toBe('-11');
    expect(fs.readFileSync(path.join(t.workdir, 'slow.e1'), 'utf8')).toMatch(/^=>> PBS: job killed: walltime \d+ exceeded limit 1\n$/);
  });
});

describe('qstat and qdel', () => {
  it('table header, -x XML, no -F json', async () => {
    await t.run('qsub', ['-h', '-N', 'held'], { input: 'true\n' });
    const table = await t.run('qstat', []);
    expect(table.stdout.split('\n').slice(0, 2)).toEqual([
      'Job ID                    Name             User            Time Use S Queue',
      '------------------------- ---------------- --------------- -------- - -----',
    ]);
    expect(table.stdout.split('\n')[2]?.split(/\s+/)).toEqual(['1.torque', 'held', expect.any(String), '0', 'H', 'batch', '']);
    expect((await t.run('qstat', ['-x', '1.torque'])).stdout).toMatch(/^<\?xml version="1.0"\?>\n<Data><Job><Job_Id>1.torque<\/Job_Id><Job_Name>held<\/Job_Name>.*<\/Job><\/Data>\n$/);
    const json = await t.run('qstat', ['-f', '-F', 'json', '1.torque']);
    expect(json.exitCode).toBe(2);
    expect(json.stderr).toMatch(/^qstat: invalid option -- 'F'\nusage: \n/);
  });

  it('a second qdel while the first is in progress: Invalid request MSG=job cancel in progress', async () => {
    await t.run('qsub', [], { input: "trap '' TERM; sleep 60\n" });
    await untilState('1.torque', 'R');
    expect(await t.run('qdel', ['1.torque'])).toMatchObject({ stderr: '', exitCode: 0 });
    expect(await t.run('qdel', ['1.torque'])).toMatchObject({ stderr: 'qdel: Invalid request MSG=job cancel in progress 1.torque\n', exitCode: 156 });
    expect((await untilState('1.torque', 'C')).exit_status).toBe('265'); // SIGKILL after kill_delay
    expect(await t.run('qdel', ['2.torque'])).toMatchObject({ stderr: 'qdel: Unknown Job Id Error 2.torque\n', exitCode: 153 });
  });
});
