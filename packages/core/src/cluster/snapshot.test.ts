/**
 * The snapshot as the sum of the events: job states read back from progress lines, pmaps told
 * apart and ended, losses kept with their verdict, retiring workers.
 * @module
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ClusterManager, WorkerConfig } from '../manager/types.js';
import { type ObservedWorker, SnapshotRecorder, parseJobStates } from './snapshot.js';
import type { ClusterEvents } from './types.js';

describe('parseJobStates', () => {
  it.each([
    [
      'slurm job 123 (array of 8): 3 RUNNING, 5 PENDING (Priority) - 3/8 workers joined',
      [
        { state: 'RUNNING', reason: null, count: 3 },
        { state: 'PENDING', reason: 'Priority', count: 5 },
      ],
    ],
    ['slurm job 9: PENDING (ReqNodeNotAvail, UnavailableNodes:n1) - 0/4 workers joined', [{ state: 'PENDING', reason: 'ReqNodeNotAvail, UnavailableNodes:n1', count: null }]],
    ['sge job 7 (array of 2): 2 qw - 0/2 workers joined (replacing job 6)', [{ state: 'qw', reason: null, count: 2 }]],
    ['slurm job 5: submitted - 0/4 workers joined', [{ state: 'submitted', reason: null, count: null }]],
  ])('%s', (message, states) => {
    expect(parseJobStates({ message })).toEqual(states);
  });

  it('falls back to the event’s own state for a line of another shape', () => {
    expect(parseJobStates({ message: 'lsf: could not submit', state: 'PEND', reason: 'queue closed' })).toEqual([{ state: 'PEND', reason: 'queue closed', count: null }]);
  });
});

describe('SnapshotRecorder', () => {
  const manager = { name: 'fake', expectedWorkers: 2, launch: async () => {} } as unknown as ClusterManager;
  const config = (id: number): WorkerConfig => ({
    id,
    launchId: 'L1',
    manager,
    taskIndex: id - 2,
    jobId: '77',
    host: 'node1',
    pid: 1000 + id,
    cpus: 4,
    endsAt: Date.now() + 60_000,
    joinedAt: Date.now(),
  });

  function setUp() {
    const events = new EventEmitter<ClusterEvents>();
    const handles = new Map<number, { -readonly [K in keyof ObservedWorker]: ObservedWorker[K] }>();
    const launch = { id: 'L1', manager, expected: 2, joined: [] as number[], elapsedMs: () => 5_000 };
    let live = true;
    const recorder = new SnapshotRecorder(events, { worker: (id) => handles.get(id), launch: (id) => (live && id === 'L1' ? launch : undefined), closed: () => false });
    const join = (id: number) => {
      const worker = config(id);
      handles.set(id, { config: worker, inFlight: 0, callsDone: 0, stats: { cpuPercent: 50, rssBytes: 1 << 26, at: Date.now() }, leaving: undefined });
      launch.joined.push(id);
      events.emit('worker-joined', worker);
      return worker;
    };
    return { events, handles, recorder, join, settle: () => (live = false) };
  }

  it('counts joining workers in their launch, then lists them idle or busy with their figures', () => {
    const { recorder, join, handles } = setUp();
    join(2);
    let snapshot = recorder.snapshot();
    expect(snapshot.version).toBe(1);
    expect(snapshot.counts).toMatchObject({ joining: 1, idle: 1 });
    handles.get(2)!.inFlight = 3;
    join(3);
    snapshot = recorder.snapshot();
    expect(snapshot.counts).toMatchObject({ joining: 0, idle: 1, busy: 1 });
    const busy = snapshot.workers.find((worker) => worker.id === 2)!;
    expect(busy).toMatchObject({ state: 'busy', callsInFlight: 3, cpuPercent: 50, rssBytes: 1 << 26, jobId: '77', taskIndex: 0, manager: 'fake' });
    expect(busy.queueWaitMs).toBeGreaterThanOrEqual(4_900);
    expect(busy.walltimeLeftMs).toBeGreaterThan(50_000);
    expect(snapshot.totals.joins).toBe(2);
  });

  it('keeps a lost worker with the verdict, and drops a removed one (its calls stay counted)', () => {
    const { recorder, join, handles, events, settle } = setUp();
    const a = join(2);
    const b = join(3);
    settle();
    handles.get(2)!.callsDone = 7;
    handles.get(3)!.callsDone = 5;
    handles.get(2)!.leaving = { reason: 'connection-closed' };
    // Lost at once from the handle, before the event brings the verdict.
    expect(recorder.snapshot().workers.find((worker) => worker.id === 2)).toMatchObject({ state: 'lost', loss: { reason: 'connection-closed', detail: null } });
    events.emit('worker-lost', a, { reason: 'scheduler', detail: 'TIMEOUT (walltime reached)' });
    handles.get(3)!.leaving = { reason: 'removed' };
    expect(recorder.snapshot().workers.find((worker) => worker.id === 3)?.state).toBe('retiring');
    events.emit('worker-removed', b);
    const snapshot = recorder.snapshot();
    expect(snapshot.workers.map((worker) => [worker.id, worker.state])).toEqual([[2, 'lost']]);
    expect(snapshot.losses).toEqual([expect.objectContaining({ workerId: 2, reason: 'scheduler', detail: 'TIMEOUT (walltime reached)', jobId: '77' })]);
    expect(snapshot.totals.losses).toEqual({ scheduler: 1 });
    expect(snapshot.totals.callsDone).toBe(12);
    expect(snapshot.launches[0]).toMatchObject({ id: 'L1', active: false, joined: 2, lost: 1, joining: 0 });
  });

  it('tells concurrent pmaps apart and ends a failed one', () => {
    const { recorder, events } = setUp();
    events.emit('pmap-progress', { pmapId: 1, done: 10, total: 100, elapsedMs: 1_000, workers: 2, ended: false });
    events.emit('pmap-progress', { pmapId: 2, done: 5, total: 10, elapsedMs: 500, workers: 2, ended: false });
    events.emit('pmap-progress', { pmapId: 2, done: 7, total: 10, elapsedMs: 600, workers: 2, ended: true });
    events.emit('pmap-progress', { pmapId: 1, done: 50, total: 100, elapsedMs: 2_000, workers: 2, ended: false });
    const snapshot = recorder.snapshot();
    expect(snapshot.pmaps.map((pmap) => [pmap.id, pmap.done, pmap.ended])).toEqual([
      [1, 50, false],
      [2, 7, true],
    ]);
    expect(snapshot.pmaps[0]!.ratePerSecond).toBe(25);
    expect(snapshot.totals.pmapItemsDone).toBe(57);
    expect(snapshot.events.map((event) => event.kind)).toEqual(['pmap-started', 'pmap-started', 'pmap-ended']);
  });

  it('counts submissions and keeps per-job states from launch progress', () => {
    const { recorder, events } = setUp();
    events.emit('launch-progress', {
      launchId: 'L1',
      manager: 'fake',
      joined: 0,
      expected: 8,
      elapsedMs: 1_000,
      jobIds: ['123'],
      state: 'PENDING',
      reason: 'Priority',
      message: 'slurm job 123 (array of 8): 3 RUNNING, 5 PENDING (Priority) - 0/8 workers joined',
    });
    const snapshot = recorder.snapshot();
    expect(snapshot.totals.submissions).toBe(1);
    expect(snapshot.launches[0]!.jobs[0]).toMatchObject({
      id: '123',
      states: [
        { state: 'RUNNING', count: 3 },
        { state: 'PENDING', reason: 'Priority', count: 5 },
      ],
    });
  });
});
