// @ts-check
/**
 * qsub's reading of its options: getopt the way glibc does it (clustered flags, attached or
 * separate arguments, glibc's error texts), `#PBS` directives read up to the first command
 * (qsub_sup.c), `-l` resource lists, `-v` variable lists and array ranges (`-J`, `-t`).
 * Kept apart from qsub.mjs so the parsing rules can be read against the sources on their own.
 * @module
 */

/** A usage error: glibc's text, then the usage, exit 2. */
export class UsageError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * getopt(3): returns the options in order and the operands after them. `--` ends options.
 * @param {string[]} args @param {string} spec e.g. 'a:hN:' @param {string} command
 * @returns {{ options: [string, string][], operands: string[], dashdash: boolean }}
 */
export function getopt(args, spec, command) {
  /** @type {[string, string][]} */
  const options = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i]);
    if (arg === '--') return { options, operands: args.slice(i + 1), dashdash: true };
    if (!arg.startsWith('-') || arg === '-') break;
    for (let j = 1; j < arg.length; j++) {
      const flag = /** @type {string} */ (arg[j]);
      const at = spec.indexOf(flag);
      if (at < 0 || flag === ':') throw new UsageError(`${command}: invalid option -- '${flag}'`);
      if (spec[at + 1] !== ':') {
        options.push([flag, '']);
        continue;
      }
      let value = arg.slice(j + 1);
      if (value === '') {
        if (i + 1 >= args.length) throw new UsageError(`${command}: option requires an argument -- '${flag}'`);
        value = /** @type {string} */ (args[++i]);
      }
      options.push([flag, value]);
      break;
    }
  }
  return { options, operands: args.slice(i), dashdash: false };
}

/** Split a directive line into words the way qsub does (quotes group, backslash escapes). @param {string} line */
export function shellWords(line) {
  /** @type {string[]} */
  const words = [];
  let word = '';
  let inWord = false;
  /** @type {string | null} */
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = /** @type {string} */ (line[i]);
    if (quote) {
      if (c === quote) quote = null;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break; // the rest of the directive line is a comment
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The `#PBS` directives of a script: the option words of every directive line before the
 * first line that is neither blank nor a comment (qsub_sup.c stops there).
 * @param {string} script @param {string} prefix
 */
export function directives(script, prefix) {
  /** @type {string[][]} */
  const found = [];
  for (const line of script.split('\n')) {
    const trimmed = line.trim();
    if (line.startsWith(prefix)) {
      found.push(shellWords(line.slice(prefix.length)));
      continue;
    }
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    break;
  }
  return found;
}

/**
 * `-l a=1,b=2` (several -l accumulate); a bare word without `=` is a syntax error in qsub.
 * @param {string} text @returns {[string, string][] | undefined}
 */
export function parseResources(text) {
  /** @type {[string, string][]} */
  const pairs = [];
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) return undefined;
    pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return pairs;
}

/**
 * `-v A=1,B,"C=x,y"`: NAME=value pairs; a bare NAME takes its value from qsub's environment.
 * @param {string} text @param {NodeJS.ProcessEnv} env @returns {[string, string][]}
 */
export function parseVariables(text, env) {
  /** @type {string[]} */
  const items = [];
  let current = '';
  /** @type {string | null} */
  let quote = null;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = null;
      else current += c;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ',') {
      items.push(current);
      current = '';
    } else current += c;
  }
  items.push(current);
  /** @type {[string, string][]} */
  const vars = [];
  for (const item of items.map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq > 0) vars.push([item.slice(0, eq), item.slice(eq + 1)]);
    else if (env[item] !== undefined) vars.push([item, /** @type {string} */ (env[item])]);
  }
  return vars;
}

/**
 * PBS Pro `-J X-Y[:Z][%N]` (X < Y, indices >= 0) or Torque `-t 1-10,15,20-22[%N]`.
 * @param {string} text @param {'J' | 't'} option @returns {{ indices: number[], maxRunning?: number, request: string } | undefined}
 */
export function parseArray(text, option) {
  const [range = '', slots] = text.split('%');
  const maxRunning = slots === undefined ? undefined : Number(slots);
  if (maxRunning !== undefined && !(Number.isInteger(maxRunning) && maxRunning > 0)) return undefined;
  if (option === 'J') {
    const match = /^(\d+)-(\d+)(?::(\d+))?$/.exec(range);
    if (!match) return undefined;
    const [start, end, step] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 1)];
    if (start >= end || step < 1) return undefined;
    const indices = [];
    for (let i = start; i <= end; i += step) indices.push(i);
    return { indices, maxRunning, request: range };
  }
  /** @type {Set<number>} */
  const set = new Set();
  for (const part of range.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return undefined;
    const [start, end] = [Number(match[1]), Number(match[2] ?? match[1])];
    if (end < start) return undefined;
    for (let i = start; i <= end; i++) set.add(i);
  }
  return { indices: [...set].sort((a, b) => a - b), maxRunning, request: range };
}
