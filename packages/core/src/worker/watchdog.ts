/**
 * A worker's liveness must not depend on its event loop: user code that never yields
 * (`while (true) {}`) would otherwise keep a worker alive long after its master died,
 * holding a node. A watchdog thread keeps its own view of the master — when the main thread
 * last heard from it (shared memory the main thread updates on each heartbeat tick), and on
 * Linux the kernel's state of the connection — and kills the process when the main thread
 * has not acted on the master's death in time. A responsive worker always exits first, by
 * itself, with its usual code.
 *
 * The thread is started as soon as the worker starts: a thread boots with help from the main
 * thread's event loop, so it must be running before any user code can block that loop.
 * @module
 */
import { once } from 'node:events';
import type net from 'node:net';
import { Worker } from 'node:worker_threads';

/** What the thread is told once the connection to the master is up. */
export interface WatchdogSettings {
  /** Silence (ms since the last frame the main thread read) after which the master counts as gone. */
  timeoutMs: number;
  /** How long after the main thread should have acted the watchdog waits. */
  graceMs: number;
  checkMs: number;
  /** Watch the connection's kernel state (Linux /proc/net/tcp). */
  watchSocket: boolean;
  localPort: number;
  remotePort: number;
}

const GRACE_MS = 2_000;

export class Watchdog {
  readonly #thread: Worker;
  /** Float64 ms timestamp of the last frame the main thread read, shared with the thread. */
  readonly #lastHeard = new Float64Array(new SharedArrayBuffer(8));
  /** The connection watched, once `watch` was called. */
  #socket: Pick<WatchdogSettings, 'watchSocket' | 'localPort' | 'remotePort'> | undefined;
  /** Resolves once the thread runs (or failed to start: a worker without a watchdog still works). */
  readonly ready: Promise<void>;

  constructor() {
    this.#lastHeard[0] = Date.now();
    this.#thread = new Worker(new URL('./watchdog-thread.js', import.meta.url), {
      workerData: { lastHeard: this.#lastHeard.buffer },
      env: {},
      stdout: false,
      stderr: false,
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.#thread.on('error', (error) => process.stderr.write(`cm-worker: the liveness watchdog stopped: ${error.message}\n`));
    // Ref'd until it runs: the worker awaits `ready` while its socket is paused (a Call that
    // came with the Welcome waits unread), and nothing else would keep the process alive.
    // Afterwards it must not keep a worker alive that is done.
    this.ready = once(this.#thread, 'online').then(
      () => void this.#thread.unref(),
      () => void this.#thread.unref(),
    );
  }

  /** Start watching the connection `socket` to the master. */
  watch(socket: net.Socket, pace: { heartbeatMs: number; timeoutMs: number }): void {
    this.#lastHeard[0] = Date.now();
    this.#socket = {
      watchSocket: process.platform === 'linux' && socket.localPort !== undefined && socket.remotePort !== undefined,
      localPort: socket.localPort ?? 0,
      remotePort: socket.remotePort ?? 0,
    };
    this.repace(pace);
  }

  /** The master set a new heartbeat pace (protocol 1.4+): judge its silence by that from now on. */
  repace(pace: { heartbeatMs: number; timeoutMs: number }): void {
    if (!this.#socket) return;
    const watch: WatchdogSettings = {
      // The main thread refreshes the shared time once per heartbeat tick, so it lags by up to one.
      timeoutMs: pace.timeoutMs + pace.heartbeatMs,
      graceMs: GRACE_MS,
      checkMs: Math.min(1_000, pace.heartbeatMs),
      ...this.#socket,
    };
    this.#thread.postMessage(watch);
  }

  /** The main thread is alive and last heard from the master at `at`. */
  heard(at: number): void {
    this.#lastHeard[0] = at;
  }

  stop(): void {
    void this.#thread.terminate();
  }
}
