// Options a user types: unknown names at any depth are refused with the name they were
// probably meant to be, wrong kinds of value name the argument, and every option of every
// public options type carries its meaning and default into the emitted declarations (what an
// editor shows on hover).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { Cluster, LocalManager, UsageError, addprocsOptionsSchema, clusterOptionsSchema, localManagerOptionsSchema, pmapOptionsSchema } from '../src/index.js';
import { jobQueueOptionsSchema } from '../src/driver.js';
import { testCluster } from './helpers.js';

function thrown(action: () => unknown): UsageError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError, nothing was thrown');
}

describe('unknown option names', () => {
  it('refuses a typo in a nested option with the name it was meant to be', () => {
    const error = thrown(() => new Cluster({ heartbeat: { intervalMS: 1000 } } as never));
    expect(error.message).toMatch(/`heartbeat`: unknown option `intervalMS` \(did you mean `intervalMs`\?\); known: intervalMs, timeoutMs/);
    expect(error.field).toBe('heartbeat.intervalMS');
  });

  it('refuses a typo in pmap retry before anything runs', async () => {
    const error = await testCluster()
      .pmap((x: number) => x, [1], { retry: { error: 1 } } as never)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/`retry`: unknown option `error` \(did you mean `errors`\?\)/);
  });

  it('suggests at the top level too, for the cluster and LocalManager', () => {
    expect(thrown(() => new Cluster({ hots: '127.0.0.1' } as never)).message).toMatch(/unknown option `hots` \(did you mean `host`\?\)/);
    expect(thrown(() => new LocalManager({ nq: 2 } as never)).message).toMatch(/unknown option `nq` \(did you mean `np`\?\)/);
  });

  it('names a call target’s unknown option', () => {
    const error = thrown(() => testCluster().remotecall({ worker: 2, timeout: 5 } as never, () => 1));
    expect(error.message).toMatch(/remotecall target: `\(options\)`: unknown option `timeout` \(did you mean `timeoutMs`\?\)/);
  });

  it('says what was passed when options are not an object', () => {
    expect(thrown(() => new Cluster('127.0.0.1' as never)).message).toBe("invalid Cluster options: expected an options object, got string '127.0.0.1'");
  });
});

describe('clear errors for wrong arguments', () => {
  it('pmap over a number says items must be iterable, and names the argument', async () => {
    const error = await testCluster()
      .pmap((x: number) => x, 5 as never)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('pmap: items must be an array or iterable, got number 5');
    expect((error as UsageError).field).toBe('items');
  });

  it('a function that is not one names `fn` and what it got', async () => {
    const everywhere = await testCluster()
      .everywhere(42 as unknown as () => void)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(everywhere).toBeInstanceOf(UsageError);
    expect((everywhere as UsageError).message).toBe('everywhere: expected a function or a moduleFunction(url, exportName) as fn, got number 42');
    expect((everywhere as UsageError).field).toBe('fn');
  });

  it('a worker id of the wrong type names the id and its type', () => {
    const error = thrown(() => testCluster().remotecall('2' as never, () => 1));
    expect(error.message).toMatch(/remotecall: the first argument must be a worker id or \{ worker, signal\?, timeoutMs\? \}, got string '2'/);
    expect(error.field).toBe('id');
  });
});

/** The TSDoc block right above `name?:` in `interface Name { … }` of a .d.ts, per property. */
function documentedProperties(declarations: string, name: string): Map<string, string> {
  const start = declarations.indexOf(`export interface ${name} `);
  expect(start, `interface ${name} in the declarations`).toBeGreaterThanOrEqual(0);
  const body = declarations.slice(start, declarations.indexOf('\n}', start));
  const properties = new Map<string, string>();
  const pattern = /(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?\n\s{4}(\w+)\??:/g;
  for (const match of body.matchAll(pattern)) properties.set(match[2]!, match[1] ?? '');
  return properties;
}

/** Keys of a zod object schema, and which of them have a default. */
function schemaKeys(schema: z.ZodObject): { keys: string[]; defaulted: string[] } {
  const shape = schema.shape as Record<string, { _zod: { def: { type: string } } }>;
  return { keys: Object.keys(shape), defaulted: Object.keys(shape).filter((key) => shape[key]!._zod.def.type === 'default') };
}

const dist = (file: string) => readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8');

describe('documented options in the emitted declarations', () => {
  const cases: Array<[string, string, z.ZodObject]> = [
    ['cluster/options.d.ts', 'ClusterOptions', clusterOptionsSchema],
    ['cluster/options.d.ts', 'AddprocsOptions', addprocsOptionsSchema],
    ['cluster/options.d.ts', 'PmapOptions', pmapOptionsSchema],
    ['local/local-manager-options.d.ts', 'LocalManagerOptions', localManagerOptionsSchema],
    ['batch/job-queue-options.d.ts', 'JobQueueOptions', jobQueueOptionsSchema],
  ];
  for (const [file, name, schema] of cases) {
    it(`${name}: every option has a doc comment, and each default is stated`, () => {
      const documented = documentedProperties(dist(file), name);
      const { keys, defaulted } = schemaKeys(schema);
      expect([...documented.keys()].sort()).toEqual([...keys].sort());
      for (const key of keys) expect(documented.get(key)?.trim().length, `${name}.${key} has a doc comment`).toBeGreaterThan(20);
      for (const key of defaulted) expect(documented.get(key), `${name}.${key} states its default`).toMatch(/@defaultValue/);
    });
  }

  it('nested options are documented too', () => {
    const declarations = dist('cluster/options.d.ts');
    for (const [name, keys] of [
      ['HeartbeatOptions', ['intervalMs', 'timeoutMs']],
      ['PmapRetryOptions', ['errors', 'lostWorkers']],
      ['CallOptions', ['signal', 'timeoutMs']],
    ] as const) {
      const documented = documentedProperties(declarations, name);
      for (const key of keys) expect(documented.get(key), `${name}.${key}`).toMatch(/\S{3,}/);
    }
  });

  it('the package entry exports the documented types and the Cluster class has its doc block with an example', () => {
    const index = dist('index.d.ts');
    expect(index).toMatch(/export type \{ JobQueueOptions \} from '\.\/batch\/job-queue-options\.js'/);
    expect(index).toMatch(/type ClusterOptions,/);
    const cluster = dist('cluster/cluster.d.ts');
    const doc = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export declare class Cluster /.exec(cluster);
    expect(doc?.[1]).toMatch(/@example[\s\S]*new Cluster\(\)[\s\S]*addprocs/);
  });
});
