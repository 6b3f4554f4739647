/**
 * Limits shared by the parts that start and watch processes, so each has one value.
 * @module
 */

/** Lines of a process's or job's stderr kept to explain a failure (`LaunchError.stderrTail`). */
export const STDERR_TAIL_LINES = 20;
/** Bytes read from the end of a job's stderr file to find those lines. */
export const STDERR_TAIL_BYTES = 16_384;
/** Between SIGTERM and SIGKILL when stopping a worker process or a launch command, ms. */
export const TERM_GRACE_MS = 2_000;
