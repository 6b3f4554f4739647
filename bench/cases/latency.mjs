// No-op remotecallFetch round trip vs raw TCP ping-pong of the same message size.
// The two are measured in alternating blocks, so a burst of load from elsewhere on the machine
// lands on both alike instead of on whichever happened to be running (the p99 follows such bursts).
import { Cluster, LocalManager } from '@cm/core';
import { rawPingPong, startEchoPeer } from '../floor.mjs';
import { percentile } from '../stats.mjs';

const COUNT = 5_000;
const WARMUP = 500;
/** Round trips of each kind per block; COUNT / BLOCK blocks of each, alternating. */
const BLOCK = 100;
/** About the size of a no-op Call frame. */
const MESSAGE_BYTES = 48;

export async function latency({ clusterOptions = {}, label = 'latency' } = {}) {
  const peer = await startEchoPeer();
  const cluster = new Cluster(clusterOptions);
  try {
    const [id] = await cluster.addprocs(new LocalManager(1));
    const noop = () => undefined;
    const callTimes = async (count) => {
      const times = [];
      for (let i = 0; i < count; i++) {
        const started = process.hrtime.bigint();
        await cluster.remotecallFetch(id, noop);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      return times;
    };
    await rawPingPong(peer.socket, { count: 0, warmup: WARMUP, bytes: MESSAGE_BYTES });
    await callTimes(WARMUP);
    const raw = [];
    const times = [];
    for (let block = 0; block < COUNT / BLOCK; block++) {
      raw.push(...(await rawPingPong(peer.socket, { count: BLOCK, warmup: 0, bytes: MESSAGE_BYTES })));
      times.push(...(await callTimes(BLOCK)));
    }
    const rows = [];
    for (const p of [50, 99]) {
      const cm = percentile(times, p) * 1000;
      const floor = percentile(raw, p) * 1000;
      const limit = p === 50 ? 1.5 : 2;
      rows.push({
        what: label,
        measure: `round trip p${p} (µs)`,
        cm,
        floor,
        ratio: cm / floor,
        target: clusterOptions.encrypt ? '' : `<= ${limit}x floor`,
        pass: clusterOptions.encrypt ? undefined : cm / floor <= limit,
      });
    }
    return rows;
  } finally {
    await cluster.close();
    await peer.stop();
  }
}
