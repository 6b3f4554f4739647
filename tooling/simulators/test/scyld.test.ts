// The Scyld (BProc) simulator end to end: bpstat, beomap and bpsh against
// /work/shared/schedulers/scyld.md, including that killing bpsh leaves the remote command running.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isAlive, run, simulators, waitFor } from './lhs-helpers.ts';

const { start, close } = simulators('scyld');

describe('Scyld simulator', { timeout: 60_000 }, () => {
  it('prints bpstat tables and one-value-per-line forms like bpstat.c', () => {
    const sim = start({ nodes: 10, nodeStates: { 5: 'down', 6: 'down', 7: 'down', 8: 'down', 9: 'down' }, refuse: [4] });
    const pad = (s: string) => s.padEnd(37);
    expect(run(sim, 'bpstat', [])).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        `${pad('Node(s)')} Status       Mode       User     Group   `,
        `${pad('5-9')} down         ---------- root     root    `,
        `${pad('0-3')} up           ---x--x--x root     root    `,
        `${pad('4')} up           ---------- root     root    `,
        '',
      ].join('\n'),
    });
    expect(run(sim, 'bpstat', ['-l', '0']).stdout).toBe('Node Address         Status       Mode          User       Group\n   0 10.54.0.1       up           ---x--x--x\troot       root      \n');
    expect(run(sim, 'bpstat', ['-s', '5']).stdout).toBe('down\n');
    expect(run(sim, 'bpstat', ['-n', 'allup']).stdout).toBe('0\n1\n2\n3\n4\n');
    expect(run(sim, 'bpstat', ['-t']).stdout).toBe('10\n');
    expect(run(sim, 'bpstat', ['-s', '12'])).toEqual({ code: 1, stdout: '', stderr: 'Invalid node specification "-s"\n' });
  });

  it('maps processes with beomap onto up nodes, repeating nodes when needed, and fails when none is up', () => {
    const sim = start({ nodes: 4, cpusPerNode: 2, refuse: [3] });
    expect(run(sim, 'beomap', ['--no-local', '--np', '3'])).toEqual({ code: 0, stdout: '0:1:2\n', stderr: '' });
    expect(run(sim, 'beomap', ['--no-local', '--np', '5']).stdout).toBe('0:0:1:1:2\n');
    expect(run(sim, 'beomap', ['--np', '3']).stdout).toBe('-1:0:1\n');
    expect(run(sim, 'beomap', ['--no-local', '--np', '4'], { env: { EXCLUDE: '0' } }).stdout).toBe('1:1:2:2\n');
    expect(run(sim, 'beomap', [], { env: { NP: '2', NO_LOCAL: '1' } }).stdout).toBe('0:1\n');
    expect(run(sim, 'beomap', ['--no-local', '--np', '7'], { env: { NO_OVER: '1' } })).toMatchObject({ code: 1, stdout: '' });
    // scyld.md §3 documents NO_OVER as a variable only: there is no --no-over flag.
    expect(run(sim, 'beomap', ['--no-local', '--np', '2', '--no-over'])).toMatchObject({ code: 1, stdout: '' });
    sim.inject({ nodes: { 0: 'down', 1: 'error', 2: 'down' } });
    expect(run(sim, 'beomap', ['--no-local', '--np', '2'])).toMatchObject({ code: 1, stdout: '' });
    expect(run(sim, 'bpstat', ['-s', '1']).stdout).toBe('error\n');
  });

  it('runs bpsh commands with BPROC_RANK/BPROC_PROGNAME, forwards stdio and exits with the worst status', () => {
    const sim = start({ nodes: 4 });
    expect(run(sim, 'bpsh', ['0,2', 'sh', '-c', 'echo "$BPROC_RANK $BPROC_PROGNAME $CM_FROM_MASTER"'], { env: { CM_FROM_MASTER: 'yes' } }).stdout).toMatch(
      /^0000000 \/\S+\/sh yes\n0000001 \/\S+\/sh yes\n$|^0000001 \/\S+\/sh yes\n0000000 \/\S+\/sh yes\n$/,
    );
    expect(run(sim, 'bpsh', ['-p', '3', 'printf', 'a\\nb\\n']).stdout).toBe('  3: a\n  3: b\n');
    expect(run(sim, 'bpsh', ['1', 'cat'], { input: 'from stdin\n' }).stdout).toBe('from stdin\n');
    expect(run(sim, 'bpsh', ['0-1', 'sh', '-c', 'echo err >&2; exit $((3 + ${BPROC_RANK#000000}))'])).toEqual({ code: 4, stdout: '', stderr: 'err\nerr\n' });
    expect(run(sim, 'bpsh', ['0', 'sh', '-c', 'kill -9 $$'])).toEqual({ code: 255, stdout: '', stderr: 'bpsh: Child process exited abnormally.\n' });
    expect(run(sim, 'bpsh', ['0', 'no-such-command'])).toEqual({ code: 1, stdout: '', stderr: 'bpsh: no-such-command: command not found\n' });
    expect(run(sim, 'bpsh', ['0-x', 'true'])).toEqual({ code: 1, stdout: '', stderr: 'Invalid node specification "0-x"\n' });
  });

  it('reports a down node and a refusing node per node while the others run', () => {
    const sim = start({ nodes: 4 });
    sim.inject({ nodes: { 1: 'down' }, refuse: [2] });
    const result = run(sim, 'bpsh', ['0-3', 'echo', 'ran']);
    expect(result.stdout).toBe('ran\nran\n');
    expect(result.stderr).toBe('1: Host is down\n2: Operation not permitted\n');
    expect(result.code).toBe(1);
    // -a: every node that is up (0, 2 and 3); node 2 still refuses.
    expect(run(sim, 'bpsh', ['-a', 'echo', 'up'])).toEqual({ code: 1, stdout: 'up\nup\n', stderr: '2: Operation not permitted\n' });
  });

  it('keeps the remote command running when bpsh is killed; bpsh NODE kill PID stops it', async () => {
    const sim = start({ nodes: 2 });
    const bpsh = execa('bpsh', ['1', 'sh', '-c', 'echo $$; exec sleep 60'], { env: { ...process.env, ...sim.env }, extendEnv: false, reject: false, buffer: false });
    const pid = await new Promise<number>((resolve, reject) => {
      bpsh.stdout?.once('data', (chunk) => resolve(Number(String(chunk).trim())));
      bpsh.once('exit', () => reject(new Error('bpsh exited before the remote command printed its pid')));
    });
    expect(sim.processes()).toContain(pid);
    bpsh.kill('SIGKILL');
    await bpsh;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isAlive(pid)).toBe(true);
    expect(run(sim, 'bpsh', ['1', 'kill', '-2', String(pid)])).toEqual({ code: 0, stdout: '', stderr: '' });
    await waitFor(() => !isAlive(pid), { what: `remote ${pid} to end` });
  });

  it('kills remote commands left behind by a killed bpsh on close()', async () => {
    const sim = start({ nodes: 1 });
    const bpsh = execa('bpsh', ['0', 'sh', '-c', 'echo $$; exec sleep 60'], { env: { ...process.env, ...sim.env }, extendEnv: false, reject: false, buffer: false });
    const pid = await new Promise<number>((resolve) => bpsh.stdout?.once('data', (chunk) => resolve(Number(String(chunk).trim()))));
    bpsh.kill('SIGTERM');
    await bpsh;
    expect(isAlive(pid)).toBe(true);
    await close(sim);
    expect(isAlive(pid)).toBe(false);
  });
});
