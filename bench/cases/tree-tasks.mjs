// Functions the worker-calls bench runs on workers (imported by file URL, as moduleFunction does):
// a tree reduction whose inner nodes are pmaps made from inside remote functions.
import { moduleFunction, pmap } from '@cm/core';

/** Sum of a slice of numbers. */
export function sumSlice(numbers) {
  let sum = 0;
  for (let i = 0; i < numbers.length; i++) sum += numbers[i];
  return sum;
}

const treeSumHere = moduleFunction(import.meta.url, 'treeSum');

/** Sum `numbers` as a tree: halves go to the cluster's workers (a pmap from this worker) until a half has at most `leaf` numbers. */
export async function treeSum({ numbers, leaf }) {
  if (numbers.length <= leaf) return sumSlice(numbers);
  const middle = numbers.length >> 1;
  const [left, right] = await pmap(
    treeSumHere,
    [
      { numbers: numbers.subarray(0, middle), leaf },
      { numbers: numbers.subarray(middle), leaf },
    ],
    { batchSize: 1 },
  );
  return left + right;
}

// The same with the numbers already on every worker (put there once by `keepNumbers`): only
// ranges travel, so what is measured is the shape of the reduction, not moving the data.
const NUMBERS = Symbol.for('@cm/bench.numbers');

export function keepNumbers(numbers) {
  globalThis[NUMBERS] = numbers;
}

export function sumRange({ start, end }) {
  return sumSlice(globalThis[NUMBERS].subarray(start, end));
}

const treeSumRangeHere = moduleFunction(import.meta.url, 'treeSumRange');

export async function treeSumRange({ start, end, leaf }) {
  if (end - start <= leaf) return sumRange({ start, end });
  const middle = start + ((end - start) >> 1);
  const [left, right] = await pmap(
    treeSumRangeHere,
    [
      { start, end: middle, leaf },
      { start: middle, end, leaf },
    ],
    { batchSize: 1 },
  );
  return left + right;
}
