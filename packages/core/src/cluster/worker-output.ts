/**
 * Where workers' stdout and stderr lines go on the master: to `onOutput` if given, else
 * printed as Julia does (`From worker N: …` on the master's stream of the same kind), and
 * as `output` events when anyone listens.
 * @module
 */
import type { EventEmitter } from 'node:events';
import type { ResolvedClusterOptions } from './options.js';
import type { ClusterEvents } from './types.js';

/** Default output routing, as in Julia: `From worker N: …` on the master's own stream of the same kind. */
function printWorkerOutput(workerId: number, stream: 'stdout' | 'stderr', line: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`From worker ${workerId}: ${line}\n`);
}

export class WorkerOutput {
  readonly #route: NonNullable<ResolvedClusterOptions['onOutput']>;
  readonly #events: EventEmitter<ClusterEvents>;

  constructor(onOutput: ResolvedClusterOptions['onOutput'], events: EventEmitter<ClusterEvents>) {
    this.#route = onOutput ?? printWorkerOutput;
    this.#events = events;
  }

  deliver(workerId: number, stream: 'stdout' | 'stderr', lines: string[]): void {
    for (const line of lines) {
      this.#route(workerId, stream, line);
      if (this.#events.listenerCount('output') > 0) this.#events.emit('output', { workerId, stream, line });
    }
  }
}
