import { describe, expect, it } from 'vitest';
import { LocalManager } from '../src/index.js';
import { testCluster } from './helpers.js';

/** A checksum the worker and the master compute alike, so a misplaced byte anywhere shows. */
const checksum = (view: ArrayBufferView): number => {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum = (sum * 31 + bytes[i]! + i) % 1_000_000_007;
  return sum;
};

describe('bulk data to and from a worker', () => {
  it.each([false, true])('returns big typed arrays intact, windows and unaligned views included, with small frames between them (encrypt: %s)', async (encrypt) => {
    const cluster = testCluster({ encrypt });
    const [id] = await cluster.addprocs(new LocalManager(1));
    const memory = new ArrayBuffer(4 << 20);
    new Uint8Array(memory).forEach((_, i, all) => (all[i] = (i * 7 + (i >> 9)) % 251));
    const values = {
      whole: new Float64Array(memory),
      window: new Float64Array(memory, 8 * 1_001, 300_000),
      odd: new Uint8Array(memory, 3, (2 << 20) + 5),
      shorts: new Int16Array(memory, 2, 100_001),
      empty: new Float32Array(memory, 16, 0),
    };
    const echo = (v: unknown) => v;
    // Big and small calls in flight together: small frames land between and after big ones.
    const [back, ...numbers] = await Promise.all([cluster.remotecallFetch(id!, echo, values), ...Array.from({ length: 20 }, (_, i) => cluster.remotecallFetch(id!, (n: number) => n + 1, i))]);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const got = back as typeof values;
    for (const key of Object.keys(values) as Array<keyof typeof values>) {
      expect(got[key].constructor).toBe(values[key].constructor);
      expect(got[key].byteLength).toBe(values[key].byteLength);
      expect(checksum(got[key])).toBe(checksum(values[key]));
    }
    // And the worker saw the same bytes it sent back.
    const seen = await cluster.remotecallFetch(
      id!,
      (v: Record<string, ArrayBufferView>) =>
        // The same checksum as above (an inline function sees only its arguments).
        Object.fromEntries(
          Object.entries(v).map(([k, view]) => {
            const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
            let sum = 0;
            for (let i = 0; i < bytes.length; i++) sum = (sum * 31 + bytes[i]! + i) % 1_000_000_007;
            return [k, sum];
          }),
        ),
      values,
    );
    expect(seen).toEqual(Object.fromEntries(Object.entries(values).map(([k, view]) => [k, checksum(view)])));
  });
});
