#!/usr/bin/env node
/**
 * `cm-worker`: a worker process. Reads its connection settings from CM_* environment
 * variables (see docs/protocol.md), serves the master, and exits when the master is gone.
 */
import { WorkerStartError, runWorker } from './runtime.js';

try {
  const code = await runWorker();
  process.exit(code);
} catch (error) {
  process.stderr.write(`cm-worker: ${(error as Error).message}\n`);
  process.exit(error instanceof WorkerStartError ? error.exitCode : 1);
}
