/**
 * How the master words a worker's loss: what the connection said when it closed, and what
 * the worker's manager adds (exit code, signal, scheduler state) within a bounded time.
 * @module
 */
import { ProtocolError, type WorkerLossInfo } from '../errors.js';

/**
 * The loss a closed worker connection means. Only a broken protocol is a `protocol-error`;
 * a reset or refused socket is the worker process going away (it exited, was killed, or its
 * host vanished), which its manager can usually explain better.
 */
export function lossOnClose(error: Error | undefined): WorkerLossInfo {
  if (error instanceof ProtocolError) return { reason: 'protocol-error', detail: error.message };
  if (!error) return { reason: 'connection-closed' };
  const code = (error as NodeJS.ErrnoException).code;
  return { reason: 'connection-closed', detail: `the connection failed (${code ?? error.message})` };
}

/**
 * Combine what the master saw with what the manager explains. For a closed connection the
 * manager's account ("exited with code 1", "killed by SIGKILL") replaces the socket's; for a
 * timeout or a protocol error both are kept.
 */
export function combineDetail(loss: WorkerLossInfo, explanation: string | undefined): string | undefined {
  if (!explanation) return loss.detail;
  if (loss.reason === 'connection-closed' || !loss.detail) return explanation;
  return `${loss.detail}; ${explanation}`;
}

/**
 * Wait for `explanation` at most `timeoutMs`. The timer is deliberately ref'd: the program
 * is awaiting the calls this loss will fail, and the manager's own handles (an unref'd
 * child process, its stdio) would not keep Node running until they settle.
 */
export async function explainWithin(explanation: Promise<string | undefined>, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([explanation.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
