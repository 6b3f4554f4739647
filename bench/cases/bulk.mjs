// A 64 MiB Float64Array sent to a worker and returned, vs the same bytes through a raw socket and back.
import { Cluster, LocalManager } from '@cm/core';
import { rawBulk, startEchoPeer } from '../floor.mjs';
import { MiB, percentile } from '../stats.mjs';

const BYTES = 64 * MiB;
const RUNS = 7;

export async function bulk({ clusterOptions = {}, label = 'bulk data' } = {}) {
  const peer = await startEchoPeer();
  const cluster = new Cluster(clusterOptions);
  try {
    const [id] = await cluster.addprocs(new LocalManager(1));
    const data = new Float64Array(BYTES / 8).map((_, i) => i);
    const echo = (x) => x;
    const roundTrip = async () => {
      const started = process.hrtime.bigint();
      const back = await cluster.remotecallFetch(id, echo, data);
      if (back.length !== data.length || back[back.length - 1] !== data[data.length - 1]) throw new Error('bulk round trip lost data');
      return Number(process.hrtime.bigint() - started) / 1e9;
    };
    await rawBulk(peer.socket, BYTES);
    await roundTrip();
    // The three alternate run by run, so load from elsewhere on the machine falls on all of them alike.
    const times = { raw: [], assembled: [], cm: [] };
    for (let run = 0; run < RUNS; run++) {
      times.raw.push(await rawBulk(peer.socket, BYTES));
      times.assembled.push(await rawBulk(peer.socket, BYTES, { assemble: true }));
      times.cm.push(await roundTrip());
    }
    const [rawSeconds, assembledSeconds, cmSeconds] = [times.raw, times.assembled, times.cm].map((list) => percentile(list, 50));
    // Throughput counts the bytes once per round trip, for both.
    const cm = BYTES / cmSeconds / 1e9;
    const floor = BYTES / rawSeconds / 1e9;
    const assembled = BYTES / assembledSeconds / 1e9;
    return [
      {
        what: label,
        measure: '64 MiB round trip (GB/s)',
        cm,
        floor,
        ratio: cm / floor,
        target: clusterOptions.encrypt ? '' : '>= 0.5x floor',
        pass: clusterOptions.encrypt ? undefined : cm / floor >= 0.5,
      },
      {
        what: label,
        measure: '  vs raw socket landing in one buffer (GB/s)',
        cm,
        floor: assembled,
        ratio: cm / assembled,
        target: clusterOptions.encrypt ? '' : '>= 0.8x floor',
        pass: clusterOptions.encrypt ? undefined : cm / assembled >= 0.8,
      },
    ];
  } finally {
    await cluster.close();
    await peer.stop();
  }
}
