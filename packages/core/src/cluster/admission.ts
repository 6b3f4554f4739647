/**
 * Worker admission: a connection becomes a worker here. The handshake is checked against
 * the launch the peer claims (a slot it expects, not yet taken), the worker gets its id, and
 * on joining it enters the roster, the call router and the heartbeat loop. Refused peers are
 * dismissed without reading another byte.
 * @module
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { WorkerLossInfo } from '../errors.js';
import type { WorkerConfig } from '../manager/types.js';
import { FramedConnection } from '../protocol/connection.js';
import { type Admission, HANDSHAKE_MAX_FRAME_BYTES, type WorkerIdentity, acceptWorker } from '../protocol/handshake.js';
import type { HeartbeatPace } from '../protocol/heartbeat-pace.js';
import { formatMs } from '../util/debug.js';
import type { LevelLogger } from '../util/logger.js';
import type { LaunchBook } from './launch-book.js';
import { HANDSHAKE_TIMEOUT_MS } from './listener.js';
import type { LivenessWatch } from './liveness.js';
import { lossOnClose } from './loss.js';
import type { ResolvedClusterOptions } from './options.js';
import type { CallRouter } from './router.js';
import type { ClusterEvents } from './types.js';
import { WorkerHandle } from './worker-handle.js';
import type { WorkerRoster } from './worker-roster.js';

/** How long a refused peer's socket stays open (not read) so the Refuse frame reaches it. */
const REFUSE_LINGER_MS = 1_000;

/** What admission needs of the cluster. */
export interface AdmissionHost {
  readonly options: ResolvedClusterOptions;
  readonly secret: Buffer;
  readonly logger: LevelLogger;
  readonly launches: Pick<LaunchBook, 'get'>;
  readonly roster: WorkerRoster;
  readonly router: CallRouter;
  readonly liveness: LivenessWatch;
  /** The cluster, which announces `worker-joined`. */
  readonly events: EventEmitter<ClusterEvents>;
  closed(): boolean;
  rejected(remoteAddress: string, reason: string): void;
  lost(handle: WorkerHandle, loss: WorkerLossInfo): void;
  output(workerId: number, stream: 'stdout' | 'stderr', lines: string[]): void;
}

export class WorkerAdmission {
  readonly #host: AdmissionHost;
  /** Connections still in their handshake, cut when the cluster closes. */
  readonly #handshakes = new Set<FramedConnection>();
  /** The master is worker 1. */
  #nextWorkerId = 2;

  constructor(host: AdmissionHost) {
    this.#host = host;
  }

  /** A peer connected to the listener: run the handshake, then join or dismiss it. */
  accept(socket: Socket): void {
    const { options, secret, logger } = this.#host;
    if (this.#host.closed()) {
      socket.destroy();
      return;
    }
    const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
    const remote = conn.remoteAddress;
    const connectedAt = performance.now();
    logger.debug(() => `connection from ${remote}`);
    this.#handshakes.add(conn);
    acceptWorker(conn, secret, (identity, version) => this.#admit(identity, version.minor), { timeoutMs: HANDSHAKE_TIMEOUT_MS }).then(
      ({ identity, workerId, version, pace }) => {
        this.#handshakes.delete(conn);
        conn.maxFrameBytes = options.maxFrameBytes;
        logger.debug(
          () =>
            `handshake with ${remote} done in ${formatMs(performance.now() - connectedAt)}: worker ${workerId} (${identity.host}, pid ${identity.pid}, launch ${identity.launchId}, task ${identity.taskIndex ?? '-'}, protocol ${version.major}.${version.minor})`,
        );
        this.#join(conn, identity, workerId, version.minor, pace);
      },
      (error: Error) => {
        this.#handshakes.delete(conn);
        // Not one more byte from a refused peer is read or queued (a flood after a failed
        // handshake once took the master to gigabytes); the Refuse still gets a moment to go out.
        conn.dismiss(REFUSE_LINGER_MS);
        logger.debug(() => `handshake with ${remote} failed after ${formatMs(performance.now() - connectedAt)}: ${error.message}`);
        this.#host.rejected(remote, error.message);
      },
    );
  }

  /** Cut every connection still in its handshake (the cluster is closing). */
  abandonHandshakes(): void {
    for (const conn of this.#handshakes) conn.destroy();
  }

  #admit(identity: WorkerIdentity, protocolMinor: number): Admission {
    const launch = this.#host.launches.get(identity.launchId);
    if (this.#host.closed()) return { admit: false, reason: 'the cluster is closing' };
    if (!launch) return { admit: false, reason: `launch ${identity.launchId} is not (or no longer) accepting workers` };
    if (!launch.acceptsWorkers()) return { admit: false, reason: `launch ${identity.launchId} already has all ${launch.expected} of its workers` };
    // Bind the join to a slot the launch expects: a peer holding the secret cannot take the
    // place of a task that has joined (or will), nor claim a task the launch never started.
    const slot = launch.claimTask(identity.taskIndex, identity.jobId);
    if (slot) return { admit: false, reason: slot };
    return { admit: true, workerId: this.#nextWorkerId++, ...this.#host.liveness.welcomePace(protocolMinor), maxFrameBytes: this.#host.options.maxFrameBytes };
  }

  #join(conn: FramedConnection, identity: WorkerIdentity, id: number, protocolMinor: number, pace: HeartbeatPace): void {
    const { roster, router, liveness, logger, events } = this.#host;
    const launch = this.#host.launches.get(identity.launchId);
    if (!launch || this.#host.closed()) {
      conn.destroy();
      return;
    }
    const config: WorkerConfig = Object.freeze({
      id,
      launchId: identity.launchId,
      manager: launch.manager,
      taskIndex: identity.taskIndex,
      jobId: identity.jobId,
      host: identity.host,
      pid: identity.pid,
      cpus: identity.cpus,
      endsAt: identity.endsAt,
      joinedAt: Date.now(),
    });
    const handle = new WorkerHandle(config, conn, (stream, lines) => this.#host.output(id, stream, lines));
    handle.protocolMinor = protocolMinor;
    roster.enrol(handle);
    router.joined(handle, protocolMinor);
    conn.onClose((error) => this.#host.lost(handle, lossOnClose(error)));
    liveness.watch(handle, pace);
    launch.workerJoined(id);
    launch.manager.manage?.(config, 'joined');
    logger.info(
      `worker ${id} joined (${config.host}, pid ${config.pid}${config.jobId ? `, job ${config.jobId}` : ''}${config.taskIndex === null ? '' : `, task ${config.taskIndex}`}): ${launch.joined.length} of ${launch.expected} of launch ${launch.id} after ${formatMs(launch.elapsedMs())}`,
    );
    events.emit('worker-joined', config);
  }
}
