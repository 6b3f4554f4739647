import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LocalManager } from '../src/index.js';
import { fixture, testCluster, waitFor } from './helpers.js';

describe('worker output', () => {
  it('reaches the onOutput callback line by line, with the worker id, stdout and stderr kept apart', async () => {
    const lines: Array<[number, string, string]> = [];
    const cluster = testCluster({ onOutput: (id, stream, line) => lines.push([id, stream, line]) });
    const [id] = await cluster.addprocs(new LocalManager(1));
    await cluster.remotecallFetch(id!, () => {
      console.log('first');
      process.stdout.write('two lines\nin one write\n');
      console.error('a warning');
      process.stdout.write('split ');
      process.stdout.write('across writes\n');
    });
    expect(lines).toEqual([
      [id, 'stdout', 'first'],
      [id, 'stdout', 'two lines'],
      [id, 'stdout', 'in one write'],
      [id, 'stderr', 'a warning'],
      [id, 'stdout', 'split across writes'],
    ]);
  });

  it('an unterminated line still arrives shortly after', async () => {
    const lines: string[] = [];
    const cluster = testCluster({ onOutput: (_id, _stream, line) => lines.push(line) });
    const [id] = await cluster.addprocs(new LocalManager(1));
    await cluster.remotecallFetch(id!, () => {
      process.stdout.write('progress 50%');
    });
    await waitFor(() => lines.includes('progress 50%'), 2_000, 'the partial line');
  });

  it('a promise user code leaves rejected is reported on stderr and the worker keeps serving', async () => {
    const lines: string[] = [];
    const cluster = testCluster({ onOutput: (_id, stream, line) => stream === 'stderr' && lines.push(line) });
    const [id] = await cluster.addprocs(new LocalManager(1));
    await cluster.remotecallFetch(id!, () => {
      void Promise.reject(new Error('stray rejection'));
    });
    await waitFor(() => lines.some((l) => l.includes('unhandled promise rejection in user code: Error: stray rejection')), 2_000, 'the report');
    expect(await cluster.remotecallFetch(id!, () => 'alive')).toBe('alive');
  });

  it('is also emitted as output events', async () => {
    const cluster = testCluster({ onOutput: () => {} });
    const [id] = await cluster.addprocs(new LocalManager(1));
    const events: unknown[] = [];
    cluster.on('output', (event) => events.push(event));
    await cluster.remotecallFetch(id!, () => console.error('oops'));
    expect(events).toEqual([{ workerId: id, stream: 'stderr', line: 'oops' }]);
  });

  it("by default is printed as `From worker N: …` on the master's own stdout and stderr", async () => {
    const run = await execa('node', [fixture('default-output.mjs')], { timeout: 20_000 });
    expect(run.stdout).toBe('From worker 2: to stdout');
    expect(run.stderr).toBe('From worker 2: to stderr');
  });
});
