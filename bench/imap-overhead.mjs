// What imap costs the master beyond pmap, without sockets or worker processes (so without most of
// the neighbours' noise): `node bench/imap-overhead.mjs` runs the dispatcher in this process with
// two fake workers that answer each batch on the next macrotask, and prints the best-of-rounds
// CPU time per item of: imap over a generator, pmap over an array, the generator alone, and a
// bare `for await` over an iterator of resolved promises (the async iterator protocol's floor).
// imap − pmap − generator − floor is what imap's own code adds. Not part of `pnpm bench`: it
// reaches into @cm/core's built modules (run `pnpm --filter @cm/core build` first).
import { ImapIterator, imapOptionsSchema } from '../packages/core/dist/cluster/imap.js';
import { pmapOptionsSchema } from '../packages/core/dist/cluster/options.js';
import { runPmap } from '../packages/core/dist/cluster/pmap.js';

const ITEMS = 1_000_000;
const ROUNDS = 10;
const ordered = !process.argv.includes('--unordered');

function fakeWorker(id) {
  let nextCallId = 1;
  return {
    id,
    config: { endsAt: null, host: 'in-process' },
    conn: { maxFrameBytes: 2 ** 30 },
    waiting: 0,
    speaksItemCalls: false,
    lastCallId: 0,
    callWith(fn, mode, args, resolve) {
      this.lastCallId = nextCallId++;
      const values = args.slice();
      setImmediate(() => resolve({ values, failures: [], elapsedMs: 0.0005 * args.length }));
    },
    cancel: () => true,
  };
}
const workers = [fakeWorker(2), fakeWorker(3)];
const host = { activeWorkers: () => workers, onWorkerJoined: () => () => {} };
const fn = { id: 1, definition: {} };
function* numbers() {
  for (let i = 0; i < ITEMS; i++) yield i;
}
class ResolvedSteps {
  #next = 0;
  [Symbol.asyncIterator]() {
    return this;
  }
  next() {
    return Promise.resolve(this.#next < ITEMS ? { done: false, value: this.#next++ } : { done: true, value: undefined });
  }
}
const items = Array.from({ length: ITEMS }, (_, i) => i);
const cpuNsPerItem = async (run) => {
  const since = process.cpuUsage();
  await run();
  const used = process.cpuUsage(since);
  return ((used.user + used.system) * 1000) / ITEMS;
};
const expectedSum = (ITEMS * (ITEMS - 1)) / 2;
const best = { imap: Infinity, pmap: Infinity, generator: Infinity, floor: Infinity };
for (let round = 0; round < ROUNDS; round++) {
  const imap = await cpuNsPerItem(async () => {
    let sum = 0;
    for await (const value of new ImapIterator(host, fn, numbers(), imapOptionsSchema.parse({ ordered }))) sum += value;
    if (sum !== expectedSum) throw new Error(`imap summed to ${sum}`);
  });
  const pmap = await cpuNsPerItem(() => runPmap(host, fn, items, pmapOptionsSchema.parse({})));
  const generator = await cpuNsPerItem(async () => {
    let sum = 0;
    for (const value of numbers()) sum += value;
    if (sum !== expectedSum) throw new Error(`the generator summed to ${sum}`);
  });
  const floor = await cpuNsPerItem(async () => {
    let sum = 0;
    for await (const value of new ResolvedSteps()) sum += value;
    if (sum !== expectedSum) throw new Error(`the floor summed to ${sum}`);
  });
  best.imap = Math.min(best.imap, imap);
  best.pmap = Math.min(best.pmap, pmap);
  best.generator = Math.min(best.generator, generator);
  best.floor = Math.min(best.floor, floor);
}
const own = best.imap - best.pmap - best.generator - best.floor;
console.log(
  `master CPU per item, best of ${ROUNDS} (${ordered ? 'ordered' : 'ordered: false'}): imap ${best.imap.toFixed(0)} ns, pmap ${best.pmap.toFixed(0)} ns, ` +
    `generator ${best.generator.toFixed(0)} ns, for-await floor ${best.floor.toFixed(0)} ns; imap's own code: ${own.toFixed(0)} ns`,
);
