/**
 * Debug output for people chasing a problem: `NODE_DEBUG=cm` (Node's own `util.debuglog`,
 * no dependency) or `DEBUG=cm` / `DEBUG=cm*` / `DEBUG=*` (the `debug` package's convention,
 * honoured so one variable works for the whole program). Off, it costs one boolean check:
 * callers pass a function when building the message is not free.
 * @module
 */
import { debuglog } from 'node:util';

const nodeDebug = debuglog('cm');

/** Whether `DEBUG` (comma- or space-separated patterns, `*` wildcards, `-name` exclusions) selects `cm`. */
export function debugSelects(value: string | undefined, name = 'cm'): boolean {
  if (!value) return false;
  let selected = false;
  for (const pattern of value.split(/[\s,]+/).filter(Boolean)) {
    const excluded = pattern.startsWith('-');
    const glob = excluded ? pattern.slice(1) : pattern;
    const regex = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')}$`);
    if (!regex.test(name) && !regex.test(`${name}:`)) continue;
    if (excluded) return false;
    selected = true;
  }
  return selected;
}

const viaDebugVariable = !nodeDebug.enabled && debugSelects(process.env.DEBUG);

/** Whether debug output is on (read once, at load, like `util.debuglog`). */
export const debugEnabled: boolean = nodeDebug.enabled || viaDebugVariable;

/** Write one debug line (`CM <pid>: message` on stderr) when debug output is on. */
export function debug(message: string | (() => string)): void {
  if (!debugEnabled) return;
  const text = typeof message === 'function' ? message() : message;
  if (viaDebugVariable) process.stderr.write(`CM ${process.pid}: ${text}\n`);
  else nodeDebug('%s', text);
}

/** `1.2 s`, `340 ms`, `45 µs`: a duration for debug lines. */
export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1) return `${Math.round(ms)} ms`;
  return `${Math.round(ms * 1000)} µs`;
}

/** `45s`, `2m13s`, `1h02m`: elapsed time on a progress line. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
