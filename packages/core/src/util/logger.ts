/** The one logger interface. Pass your own (pino, console…) through the Cluster's `logger` option. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Default: warnings and errors to stderr, prefixed so they are told apart from user output. */
export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message) => process.stderr.write(`[cm] warning: ${message}\n`),
  error: (message) => process.stderr.write(`[cm] error: ${message}\n`),
};
