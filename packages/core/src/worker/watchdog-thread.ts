/**
 * The watchdog's thread (see watchdog.ts). It runs apart from the worker's event loop, so it
 * still runs when user code never yields, and ends the process when the master is gone.
 * @module
 */
import { readFileSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { WatchdogSettings } from './watchdog.js';

/** /proc/net/tcp state codes (include/net/tcp_states.h): 01 is ESTABLISHED, the only healthy one. */
const ESTABLISHED = '01';

const lastHeard = new Float64Array((workerData as { lastHeard: SharedArrayBuffer }).lastHeard);

/** The kernel's state of the connection between the two ports, or undefined when it is not listed. */
function connectionState(localPort: number, remotePort: number): string | undefined {
  const hex = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const [local, remote] = [hex(localPort), hex(remotePort)];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(local) && fields[2]?.endsWith(remote)) return fields[3];
    }
  }
  return undefined;
}

function die(why: string): void {
  try {
    writeSync(2, `cm-worker ${process.pid}: ${why}, and the worker's own event loop has not reacted (user code that never yields?); the watchdog ends the worker\n`);
  } catch {
    // stderr is often a pipe to the dead master (EPIPE): say nothing, but still end the worker.
  }
  process.kill(process.pid, 'SIGKILL');
}

/** What the main thread last said (it says again when the master changes the heartbeat pace). */
let settings: WatchdogSettings | undefined;
let timer: NodeJS.Timeout | undefined;
let seen = false;
let downSince: number | undefined;

function watch(next: WatchdogSettings): void {
  const rearm = next.checkMs !== settings?.checkMs;
  settings = next;
  if (!rearm) return;
  clearInterval(timer);
  timer = setInterval(() => {
    if (!settings) return;
    const now = Date.now();
    const silentMs = now - lastHeard[0]!;
    if (silentMs > settings.timeoutMs + settings.graceMs) return die(`nothing heard from the master for ${Math.round(silentMs)} ms (timeout ${settings.timeoutMs} ms)`);
    if (!settings.watchSocket) return;
    const state = connectionState(settings.localPort, settings.remotePort);
    if (state === ESTABLISHED) {
      seen = true;
      downSince = undefined;
      return;
    }
    // A connection listed in another state (CLOSE_WAIT: the master closed it) is down; one not
    // listed at all only counts once it has been seen, so an unexpected table format never kills.
    if (state === undefined && !seen) return;
    downSince ??= now;
    if (now - downSince > settings.graceMs) die(`the master closed the connection (TCP state ${state ?? 'gone'})`);
  }, settings.checkMs);
}

parentPort?.on('message', (next: WatchdogSettings) => watch(next));
