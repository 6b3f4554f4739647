import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the built `cm-worker` script. The same relative path is right from
 * `src/worker/` (tests) and `dist/worker/` (published), because both sit two levels
 * below the package root — workers always run the built JavaScript.
 */
export function workerEntryPath(): string {
  return fileURLToPath(new URL('../../dist/worker/main.js', import.meta.url));
}
