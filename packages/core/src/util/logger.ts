/**
 * The one logger interface, and its levels. Pass your own (pino, console…) through the
 * Cluster's `logger` option and choose how much it gets with `logLevel`; debug lines also go
 * to `NODE_DEBUG=cm` / `DEBUG=cm` output (debug.ts).
 * @module
 */
import { debug as debugLine } from './debug.js';

/** Where @cm's own messages go. `console` and most logging libraries fit. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** How much reaches the logger: `debug` everything, `silent` nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/** Default: warnings and errors to stderr, prefixed so they are told apart from user output. */
export const stderrLogger: Logger = {
  debug: (message) => process.stderr.write(`[cm] debug: ${message}\n`),
  info: (message) => process.stderr.write(`[cm] ${message}\n`),
  warn: (message) => process.stderr.write(`[cm] warning: ${message}\n`),
  error: (message) => process.stderr.write(`[cm] error: ${message}\n`),
};

/**
 * `logger` filtered at `level`. Debug messages always also go to the debug output when it is
 * on (`NODE_DEBUG=cm`), whatever the level, so turning on debugging needs no code change.
 * Messages may be functions, built only when someone will see them.
 */
export class LevelLogger {
  readonly #logger: Logger;
  readonly #rank: number;

  constructor(logger: Logger, level: LogLevel) {
    this.#logger = logger;
    this.#rank = LOG_LEVELS.indexOf(level);
  }

  debug(message: string | (() => string)): void {
    debugLine(message);
    // A logger may lack a level (only `warn` is required of it): what it cannot take is dropped.
    if (this.#rank <= 0 && typeof this.#logger.debug === 'function') this.#logger.debug(typeof message === 'function' ? message() : message);
  }

  info(message: string): void {
    debugLine(message);
    if (this.#rank <= 1 && typeof this.#logger.info === 'function') this.#logger.info(message);
  }

  warn(message: string): void {
    debugLine(message);
    if (this.#rank <= 2) this.#logger.warn(message);
  }

  error(message: string): void {
    debugLine(message);
    if (this.#rank > 3) return;
    if (typeof this.#logger.error === 'function') this.#logger.error(message);
    else this.#logger.warn(message);
  }
}
