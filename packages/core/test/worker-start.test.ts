// What a worker loads before it joins: the modules `cm-worker` imports statically stay free of
// zod and of the master's parts; the call API remote functions use (and zod with it) loads on
// first use, synchronously, and works as before (docs/decisions.md, "The worker starts without
// zod"); and the hand-written check of the worker's environment that replaced a zod schema
// still accepts and refuses exactly what that schema did.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LocalManager } from '../src/index.js';
import { WORKER_ENV, readWorkerEnv } from '../src/worker/env.js';
import { testCluster } from './helpers.js';

const src = fileURLToPath(new URL('../src', import.meta.url));

/** Every module `entry` loads before running (static value imports, followed), as paths under src/ or package names. */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const key = path.relative(src, file);
    if (seen.has(key)) return;
    seen.add(key);
    const text = readFileSync(file, 'utf8');
    // `import type` and `export type` vanish from the JavaScript; `import()` loads later, when called.
    for (const match of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^'"]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      else seen.add(specifier);
    }
  };
  visit(entry);
  return seen;
}

describe('the worker start-up path', () => {
  const graph = staticGraph(path.join(src, 'worker', 'main.ts'));

  it('reaches the runtime, the protocol and the handshake (so the walk itself works)', () => {
    expect(graph).toContain(path.join('worker', 'runtime.ts'));
    expect(graph).toContain(path.join('protocol', 'handshake.ts'));
    expect(graph).toContain(path.join('protocol', 'connection.ts'));
    expect(graph).toContain('node:net');
  });

  it('loads no zod, no execa and nothing of the master, the batch machinery or the command line', () => {
    const forbidden = [...graph].filter(
      (module) =>
        module === 'zod' ||
        module.startsWith('zod/') ||
        module === 'execa' ||
        ['cluster', 'batch', 'local', 'manager', 'cli', 'testing'].some((part) => module.startsWith(`${part}${path.sep}`)) ||
        module === 'index.ts' ||
        module === 'driver.ts',
    );
    expect(forbidden).toEqual([]);
  });

  it("leaves the call API of remote functions (peer-api.ts, which loads zod) out, and the listener's schemas", () => {
    expect(graph).toContain(path.join('worker', 'peer-globals.ts'));
    expect(graph).not.toContain(path.join('worker', 'peer-api.ts'));
    expect(graph).not.toContain(path.join('protocol', 'handshake-schemas.ts'));
  });
});

describe('the call API on a worker, loaded on first use', () => {
  it('works on first use, synchronously: an answer at once, and a UsageError at once for a bad option (checked by zod)', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager(1));
    expect(await cluster.remotecallFetch(worker!, (x: number) => x + 1, 1)).toBe(2);
    // Through the worker's globals: vitest renames imported bindings, which a worker cannot resolve.
    const seen = await cluster.remotecallFetch(worker!, () => {
      const { workers, remotecall } = globalThis as unknown as { workers(): number[]; remotecall(target: object, fn: () => unknown): unknown };
      const ids = workers();
      let thrown = 'nothing';
      try {
        remotecall({ worker: ids[0]!, timeoutMS: 5 }, () => 1);
      } catch (error) {
        thrown = `${(error as Error).name}: ${(error as Error).message}`;
      }
      return { ids, thrown };
    });
    expect(seen.ids).toEqual([worker]);
    expect(seen.thrown).toMatch(/^UsageError: .*timeoutMS.*did you mean `timeoutMs`/);
    await cluster.close();
  });
  it("is loaded before a module function's module is imported (it may import @cm/core, and a require cannot meet that import half-way)", async () => {
    // In a fresh process, with the built files a worker runs: the first use of a module function
    // starts importing its module; by the time that call returns, the call API must be loaded.
    const dist = (file: string) => pathToFileURL(path.join(src, '..', 'dist', 'worker', file)).href;
    const fixture = pathToFileURL(path.join(src, '..', 'test', 'fixtures', 'tasks.mjs')).href;
    const script = [
      `import { FunctionTable } from ${JSON.stringify(dist('functions.js'))};`,
      `import { peerApiLoaded } from ${JSON.stringify(dist('peer-globals.js'))};`,
      'const table = new FunctionTable();',
      `table.define({ id: 1, module: ${JSON.stringify(fixture)}, name: 'square' });`,
      'const before = peerApiLoaded();',
      'const square = table.resolve(1);',
      'const during = peerApiLoaded();',
      'console.log(JSON.stringify({ before, during, value: (await square)(4) }));',
    ].join('\n');
    const { stdout } = await execa(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ before: false, during: true, value: 16 });
  });
});

/** The worker environment's rules as the zod schema the worker once parsed it with. */
const envInt = (name: string) =>
  z
    .string({ error: `${name} is not set` })
    .regex(/^\d+$/)
    .transform(Number);
const referenceSchema = z.object({
  [WORKER_ENV.masterHost]: z.string().min(1),
  [WORKER_ENV.masterPort]: envInt(WORKER_ENV.masterPort).pipe(z.number().min(1).max(65535)),
  [WORKER_ENV.secret]: z.string().optional(),
  [WORKER_ENV.secretFile]: z.string().min(1).optional(),
  [WORKER_ENV.launchId]: z.string().min(1),
  [WORKER_ENV.taskIndex]: envInt(WORKER_ENV.taskIndex).optional(),
  [WORKER_ENV.taskIndexVars]: z.string().optional(),
  [WORKER_ENV.taskIndexBase]: z.enum(['0', '1']).optional(),
  [WORKER_ENV.jobIdVars]: z.string().optional(),
  [WORKER_ENV.endsAt]: envInt(WORKER_ENV.endsAt).optional(),
  [WORKER_ENV.connectTimeoutMs]: envInt(WORKER_ENV.connectTimeoutMs).optional(),
  [WORKER_ENV.teeOutput]: z.string().optional(),
  [WORKER_ENV.tls]: z.enum(['0', '1']).optional(),
});

describe('readWorkerEnv', () => {
  it('accepts and refuses exactly what the zod schema of the same rules does, with the same values', () => {
    const text = fc.constantFrom('', '0', '1', '2', '7', '65535', '65536', '0080', '12x', ' 5', 'host', '-1', '1.5');
    const names = Object.values(WORKER_ENV);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), text), (env) => {
        const expected = referenceSchema.safeParse(env);
        const actual = readWorkerEnv(env);
        expect(actual.ok).toBe(expected.success);
        if (!actual.ok || !expected.success) return;
        const data = expected.data;
        expect(actual.value).toEqual({
          masterHost: data[WORKER_ENV.masterHost],
          masterPort: data[WORKER_ENV.masterPort],
          secret: data[WORKER_ENV.secret],
          secretFile: data[WORKER_ENV.secretFile],
          launchId: data[WORKER_ENV.launchId],
          taskIndex: data[WORKER_ENV.taskIndex],
          taskIndexVars: data[WORKER_ENV.taskIndexVars],
          taskIndexBase: data[WORKER_ENV.taskIndexBase],
          jobIdVars: data[WORKER_ENV.jobIdVars],
          endsAt: data[WORKER_ENV.endsAt],
          connectTimeoutMs: data[WORKER_ENV.connectTimeoutMs],
          teeOutput: data[WORKER_ENV.teeOutput],
          tls: data[WORKER_ENV.tls],
        });
      }),
      { numRuns: 2_000 },
    );
  });

  it('names every problem and what it should be', () => {
    const result = readWorkerEnv({ [WORKER_ENV.masterPort]: '70000', [WORKER_ENV.launchId]: '', [WORKER_ENV.tls]: 'yes', [WORKER_ENV.endsAt]: 'soon' });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual([
      'CM_MASTER_HOST is not set',
      'CM_MASTER_PORT must be a port from 1 to 65535, got 70000',
      'CM_LAUNCH_ID is empty',
      'CM_ENDS_AT must be a whole number, got "soon"',
      'CM_TLS must be "0" or "1", got "yes"',
    ]);
  });
});
