/**
 * One line of progress for people: rewritten in place on a terminal, plain lines (written
 * only when the text changes) when not on one. A line that shows elapsed time is re-drawn
 * every second on a terminal, and in plain mode elapsed time alone never causes a new line.
 * @module
 */
import { formatElapsed } from './debug.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'none';

/** Text with the elapsed time in it: `render('2m13s')`, and `render(undefined)` for the same text without it. */
export interface TimedText {
  render(elapsed: string | undefined): string;
  /** `performance.now()` when the clock started. */
  since: number;
}

const TICK_MS = 1_000;

export class ProgressLine {
  readonly #mode: 'tty' | 'plain' | 'none';
  readonly #stream: NodeJS.WriteStream;
  #last = '';
  #open = false;
  #ticker: NodeJS.Timeout | undefined;

  constructor(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#mode = mode === 'auto' ? (stream.isTTY ? 'tty' : 'plain') : mode;
  }

  /** Show `text` (if it differs from what is shown). */
  update(text: string | TimedText): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    if (this.#mode === 'none') return;
    if (typeof text === 'string') return this.#show(text, text);
    const draw = () => this.#show(text.render(formatElapsed(performance.now() - text.since)), text.render(undefined));
    draw();
    if (this.#mode === 'tty') this.#ticker = setInterval(draw, TICK_MS).unref();
  }

  #show(text: string, key: string): void {
    if (this.#mode === 'tty') {
      if (text === this.#last) return;
      this.#last = text;
      this.#stream.write(`\r\x1b[2K${text}`);
      this.#open = true;
    } else {
      if (key === this.#last) return;
      this.#last = key;
      this.#stream.write(`${text}\n`);
    }
  }

  /** Show a last `text` and leave the line (the next output starts below it). */
  finish(text?: string | TimedText): void {
    if (text !== undefined) this.update(text);
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    if (this.#open) this.#stream.write('\n');
    this.#open = false;
  }
}
