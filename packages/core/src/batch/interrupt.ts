/**
 * Leave nothing queued when the master is interrupted. While any batch manager has live jobs,
 * SIGINT, SIGTERM and SIGHUP handlers (and an `exit` hook) cancel them with blocking scheduler
 * commands; the handlers are removed again when the last job is gone. After cancelling, the
 * signal is re-raised so the process ends the conventional way (exit status 128 + signal
 * number) — unless the program has signal handlers of its own, which then decide.
 * @module
 */

import os from 'node:os';

/** A blocking cleanup: cancel this manager's jobs now. Must not throw. */
export type InterruptCleanup = () => void;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const cleanups = new Set<InterruptCleanup>();
let installed = false;

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort: the process is going away; other managers still get their turn.
    }
  }
}

/** Listeners that signal-exit (used by execa and many CLIs) keeps; they re-raise by themselves once alone. */
function signalExitListeners(): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')]?.count;
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__?.count;
  return (typeof v4 === 'number' ? v4 : 0) + (typeof v3 === 'number' ? v3 : 0);
}

const onSignal = (signal: NodeJS.Signals): void => {
  runCleanups();
  uninstall();
  // The program's own handlers (not signal-exit's) decide what happens next.
  if (process.listenerCount(signal) - signalExitListeners() > 0) return;
  // With no listener left the default action ends the process inside kill(). If signal-exit
  // still listens, the signal may be swallowed: then exit the conventional way ourselves.
  process.kill(process.pid, signal);
  process.exit(128 + os.constants.signals[signal]);
};

const onExit = (): void => runCleanups();

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on('exit', onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off('exit', onExit);
}

/**
 * Run `cleanup` if the master is interrupted or exits while it is registered. Returns the
 * function that unregisters it (call it once the jobs are gone).
 */
export function onInterrupt(cleanup: InterruptCleanup): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) uninstall();
  };
}

/** Whether interrupt handlers are installed now (for tests and diagnostics). */
export function interruptHandlersInstalled(): boolean {
  return installed;
}
