// No-op remotecallFetch round trip vs raw TCP ping-pong of the same message size.
import { Cluster, LocalManager } from '@cm/core';
import { rawPingPong, startEchoPeer } from '../floor.mjs';
import { percentile } from '../stats.mjs';

const COUNT = 5_000;
const WARMUP = 500;
/** About the size of a no-op Call frame. */
const MESSAGE_BYTES = 48;

export async function latency({ clusterOptions = {}, label = 'latency' } = {}) {
  const peer = await startEchoPeer();
  const raw = await rawPingPong(peer.socket, { count: COUNT, warmup: WARMUP, bytes: MESSAGE_BYTES });
  await peer.stop();

  const cluster = new Cluster(clusterOptions);
  try {
    const [id] = await cluster.addprocs(new LocalManager(1));
    const noop = () => undefined;
    const times = [];
    for (let i = 0; i < WARMUP + COUNT; i++) {
      const started = process.hrtime.bigint();
      await cluster.remotecallFetch(id, noop);
      if (i >= WARMUP) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const rows = [];
    for (const p of [50, 99]) {
      const cm = percentile(times, p) * 1000;
      const floor = percentile(raw, p) * 1000;
      rows.push({
        what: label,
        measure: `round trip p${p} (µs)`,
        cm,
        floor,
        ratio: cm / floor,
        target: p === 50 && !clusterOptions.encrypt ? '<= 1.5x floor' : '',
        pass: p === 50 && !clusterOptions.encrypt ? cm / floor <= 1.5 : undefined,
      });
    }
    return rows;
  } finally {
    await cluster.close();
  }
}
