// How the router tells listening workers who the workers are: at the end of each turn while
// few listen, gathered into one Peers frame per listener in a big cluster (not one per turn).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameType } from '../protocol/frame.js';
import { type EncodedPayload, type PeersMessage, decodePeerMessage } from '../protocol/messages.js';
import { DIRECT_PEERS_MIN_MINOR } from '../protocol/version.js';
import { CallRouter, type RouterHost } from './router.js';
import type { WorkerHandle } from './worker-handle.js';

interface FakeWorker {
  readonly id: number;
  readonly peers: PeersMessage[];
}

function cluster() {
  const handles: WorkerHandle[] = [];
  const workers = new Map<number, FakeWorker>();
  const host = { workers: () => handles, topology: 'all_to_all' } as unknown as RouterHost;
  const router = new CallRouter(host);
  let next = 2;
  return {
    workers,
    /** A worker joins and, as all_to_all has it, listens from the start. */
    join(): void {
      const fake: FakeWorker = { id: next++, peers: [] };
      const conn = {
        closed: false,
        send(type: FrameType, payload: EncodedPayload) {
          if (type === FrameType.Peers) fake.peers.push(decodePeerMessage<PeersMessage>(Buffer.concat(payload.parts), 'a Peers frame'));
        },
      };
      const handle = { id: fake.id, conn } as unknown as WorkerHandle;
      handles.push(handle);
      workers.set(fake.id, fake);
      router.joined(handle, DIRECT_PEERS_MIN_MINOR);
    },
  };
}

/** What a worker knows from the Peers frames it got. */
function known(worker: FakeWorker): Set<number> {
  const ids = new Set<number>();
  for (const message of worker.peers) {
    if ('all' in message) for (const id of message.all) ids.add(id);
    else {
      for (const id of message.joined) ids.add(id);
      for (const id of message.left) ids.delete(id);
    }
  }
  return ids;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Peers frames', () => {
  it('go out after each turn while up to 100 workers listen, and are gathered for a while past that', () => {
    vi.useFakeTimers();
    const c = cluster();
    // 100 workers, each joining in its own turn: the first hears of every later one, one frame per turn.
    for (let i = 0; i < 100; i++) {
      c.join();
      vi.advanceTimersToNextTimer();
    }
    const first = c.workers.get(2)!;
    expect(first.peers).toHaveLength(100); // its `all`, then 99 single joins
    expect(known(first).size).toBe(100);

    // 50 more, one per millisecond. The 101st is announced to the 100 at once; from then on
    // 101+ listen, and nothing goes out until the gathering time (one ms per listener) has passed.
    for (let i = 0; i < 50; i++) {
      c.join();
      vi.advanceTimersByTime(1);
    }
    expect(first.peers).toHaveLength(101);
    vi.advanceTimersByTime(1_000);
    // The other 49 arrive in one or two frames (joins after a flush went out wait for the next one).
    expect(first.peers.length).toBeLessThanOrEqual(103);
    expect(known(first).size).toBe(150);
    expect([...c.workers.values()].every((worker) => known(worker).size === 150)).toBe(true);
  });
});
