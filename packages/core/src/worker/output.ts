/**
 * Forwarding of a worker's stdout and stderr to the master, line by line.
 * Writes are split into complete lines as they happen; an unterminated tail is sent after a
 * short pause (or at exit), so a progress message without a newline still arrives.
 * @module
 */
type Stream = 'stdout' | 'stderr';
type Write = typeof process.stdout.write;

const PARTIAL_LINE_FLUSH_MS = 100;

export interface OutputCapture {
  /** Send any unterminated tails now. */
  flush(): void;
  /** Put the original streams back (after flushing). */
  restore(): void;
}

export function captureOutput(send: (stream: Stream, lines: string[]) => void, options: { tee: boolean }): OutputCapture {
  const originals: Record<Stream, Write> = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };
  const tails: Record<Stream, string> = { stdout: '', stderr: '' };
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (tails[stream]) {
        send(stream, [tails[stream]]);
        tails[stream] = '';
      }
    }
  };

  const intercept = (stream: Stream): Write =>
    function write(chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (options.tee) originals[stream](text);
      const parts = (tails[stream] + text).split('\n');
      tails[stream] = parts.pop() ?? '';
      if (parts.length > 0) send(stream, parts);
      if (tails[stream] && !timer) timer = setTimeout(flush, PARTIAL_LINE_FLUSH_MS).unref();
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    };

  process.stdout.write = intercept('stdout');
  process.stderr.write = intercept('stderr');
  return {
    flush,
    restore() {
      flush();
      process.stdout.write = originals.stdout;
      process.stderr.write = originals.stderr;
    },
  };
}
