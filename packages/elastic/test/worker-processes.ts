/** Starting elastic workers the way a person would — the printed command in a shell — and cleaning up after them. */
import { once } from 'node:events';
import { type ResultPromise, execa } from 'execa';
import type { ElasticManager, ElasticManagerEvents } from '../src/index.js';

const EVENT_TIMEOUT_MS = 15_000;
const started: ResultPromise[] = [];
const workerPids = new Set<number>();

/** Run `line` in a shell, as someone pasting the printed connect command would. */
export function runInShell(line: string): ResultPromise {
  const child = execa(line, { shell: true, reject: false, stdin: 'ignore', timeout: 60_000, cleanup: true });
  started.push(child);
  return child;
}

/** The last line of the manager's printed form: the connect command. */
export function printedCommand(manager: ElasticManager): string {
  return String(manager).trim().split('\n').at(-1)!.trim();
}

/** Wait (bounded) for the next `event` of the manager. */
export async function nextEvent<E extends keyof ElasticManagerEvents>(manager: ElasticManager, event: E): Promise<ElasticManagerEvents[E]> {
  return (await once(manager as never, event, { signal: AbortSignal.timeout(EVENT_TIMEOUT_MS) })) as ElasticManagerEvents[E];
}

/** Start one worker with `line` and wait until it has joined. */
export async function startWorker(manager: ElasticManager, line: string): Promise<number> {
  const joined = nextEvent(manager, 'worker-joined');
  const child = runInShell(line);
  // A worker that exits before joining fails the test at once, with what it said.
  const exitedFirst = child.then((result) => {
    throw new Error(`worker exited before joining (${result.exitCode ?? result.signal}): ${String(result.stderr)}`);
  });
  // Workers exit later when the master closes: that is no failure once they have joined.
  exitedFirst.catch(() => {});
  const [worker] = await Promise.race([joined, exitedFirst]);
  workerPids.add(worker.pid);
  return worker.id;
}

/** SIGKILL a worker process (not its shell): the hard way a node dies. */
export function killWorker(pid: number): void {
  process.kill(pid, 'SIGKILL');
}

/** Kill whatever is still running (workers exit on their own when the master closes; this is the backstop). */
export async function stopAll(): Promise<void> {
  for (const pid of workerPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  workerPids.clear();
  for (const child of started) child.kill('SIGKILL');
  await Promise.all(started.splice(0));
}
