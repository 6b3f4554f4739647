// Remote errors as faithful as structured clone allows: a thrown non-Error keeps its value,
// cause chains and AggregateError.errors come back (bounded), and own properties such as
// code, errno and path survive the trip.
import type fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalManager, MAX_ERROR_DEPTH, RemoteError, moduleFunction } from '../src/index.js';
import { serializeError } from '../src/errors.js';
import { fixture, testCluster } from './helpers.js';

async function remoteFailure(run: () => unknown): Promise<RemoteError> {
  const cluster = testCluster();
  const [worker] = await cluster.addprocs(new LocalManager(1));
  const error = await cluster.remotecallFetch(worker!, run).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteError);
  return error as RemoteError;
}

describe('faithful remote errors', () => {
  it('a thrown object keeps its value, and the message shows it', async () => {
    const error = await remoteFailure(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what users throw, and what must survive
      throw { code: 'E_X', retry: [1, 2] };
    });
    expect(error.thrownNonError).toBe(true);
    expect(error.value).toEqual({ code: 'E_X', retry: [1, 2] });
    expect(error.message).toBe(`on worker ${error.workerId} (${error.host}): NonErrorThrown: a non-Error value was thrown: { code: 'E_X', retry: [ 1, 2 ] }`);
  });

  it('cause chains come back: an Error cause as a RemoteError, any other cause as itself', async () => {
    const error = await remoteFailure(() => {
      throw new Error('could not load the model', { cause: new TypeError('bad header', { cause: { offset: 12 } }) });
    });
    expect(error.remoteMessage).toBe('could not load the model');
    const cause = error.cause as RemoteError;
    expect(cause).toBeInstanceOf(RemoteError);
    expect(cause.remoteName).toBe('TypeError');
    expect(cause.remoteMessage).toBe('bad header');
    expect(cause.cause).toEqual({ offset: 12 });
  });

  it('own properties (code, errno, path, syscall) survive, readable on the error itself', async () => {
    // A real fs error (vitest rewrites `import()` in the test's source, so the module comes from process).
    const error = await remoteFailure(() => (process as unknown as { getBuiltinModule(id: 'node:fs'): typeof fs }).getBuiltinModule('node:fs').readFileSync('/nonexistent/cm-test-file'));
    expect(error.remoteCode).toBe('ENOENT');
    expect(error.properties).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: '/nonexistent/cm-test-file' });
    expect((error as RemoteError & { path?: string }).path).toBe('/nonexistent/cm-test-file');
    expect((error as RemoteError & { code?: string }).code).toBe('ENOENT');
  });

  it('AggregateError.errors come back, each an error or its value', async () => {
    const error = await remoteFailure(() => {
      throw new AggregateError([new RangeError('too big'), 'plain text'], 'two things failed');
    });
    expect(error.remoteName).toBe('AggregateError');
    expect(error.errors).toHaveLength(2);
    expect(error.errors![0]).toBeInstanceOf(RemoteError);
    expect((error.errors![0] as RemoteError).remoteMessage).toBe('too big');
    expect(error.errors![1]).toBe('plain text');
  });

  it('a failed pmap item keeps its value and properties too', async () => {
    const cluster = testCluster();
    await cluster.addprocs(new LocalManager(1));
    const error = await cluster
      .pmap(
        (x: number) => {
          if (x === 2) throw Object.assign(new Error('item two'), { code: 'E_ITEM', item: x });
          return x;
        },
        [1, 2, 3],
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).properties).toEqual({ code: 'E_ITEM', item: 2 });
  });

  it('chains are cut at MAX_ERROR_DEPTH, and uncloneable properties are left out', () => {
    let deep: Error = new Error('level 0');
    for (let level = 1; level < 20; level++) deep = new Error(`level ${level}`, { cause: deep });
    let serialized = serializeError(Object.assign(deep, { callback: () => 1, count: 3 }));
    expect(serialized.props).toEqual({ count: 3 });
    let depth = 0;
    while (serialized.cause && 'name' in serialized.cause) {
      serialized = serialized.cause;
      depth++;
    }
    expect(depth).toBe(MAX_ERROR_DEPTH);
    const value = serializeError(Symbol('x'));
    expect(value.thrown).toEqual({ value: undefined });
    expect(value.message).toBe('a non-Error value was thrown: Symbol(x)');
  });
});

describe('module functions', () => {
  it('a relative path is resolved against the calling module, not the current directory', () => {
    const square = moduleFunction('./fixtures/tasks.mjs', 'square');
    expect(square.url).toBe(new URL('./fixtures/tasks.mjs', import.meta.url).href);
    expect(moduleFunction('./tasks.mjs', 'square', new URL('./fixtures/', import.meta.url)).url).toBe(new URL('./fixtures/tasks.mjs', import.meta.url).href);
  });

  it('runs a module function given relative to the caller', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager({ np: 1, cwd: '/' }));
    expect(await cluster.remotecallFetch(worker!, moduleFunction<[number], number>('./fixtures/tasks.mjs', 'square'), 7)).toBe(49);
    expect(fixture('tasks.mjs')).toMatch(/tasks\.mjs$/);
  });

  it('a module the worker cannot find names the calling file and says what to check', async () => {
    const cluster = testCluster();
    const [worker] = await cluster.addprocs(new LocalManager(1));
    const error = await cluster.remotecallFetch(worker!, moduleFunction('./no-such-module.mjs', 'f')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteError);
    const message = (error as RemoteError).remoteMessage;
    expect(message).toContain(`cannot import ${new URL('./no-such-module.mjs', import.meta.url).href} (moduleFunction called in ${new URL(import.meta.url).pathname})`);
    expect(message).toMatch(/Hint: a relative path is resolved against the file that called moduleFunction/);
    expect(message).not.toMatch(/functions\.js/);
    expect((error as RemoteError).remoteCode).toBe('ERR_MODULE_NOT_FOUND');
  });
});
