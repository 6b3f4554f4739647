// @ts-check
/**
 * bsub's command line and `#BSUB` directives, read the way OpenLava's cmd.sub.c reads them,
 * so the LSF simulator accepts exactly what a real bsub accepts: options before the command,
 * directives from a script on stdin (any line `#` … `BSUB -x …`, quotes grouping words, a
 * `#` word ending the line), and command-line options winning over directives.
 * Pure functions: no I/O, no engine.
 * @module
 */

/** Options that take a value (OpenLava's template plus IBM LSF 10.1's -oo/-eo/-cwd/-env/-app/-g/-Ep). */
const VALUE_OPTIONS = new Set([
  'E',
  'Ep',
  'T',
  'a',
  'w',
  'f',
  'k',
  'R',
  'm',
  'J',
  'L',
  'u',
  'is',
  'i',
  'o',
  'e',
  'oo',
  'eo',
  'n',
  'q',
  'b',
  't',
  'sp',
  's',
  'c',
  'v',
  'p',
  'W',
  'F',
  'D',
  'S',
  'C',
  'M',
  'O',
  'G',
  'P',
  'X',
  'cwd',
  'env',
  'app',
  'g',
  'Jd',
]);
/** Options without a value. */
const FLAG_OPTIONS = new Set(['Zs', 'Ip', 'Is', 'I', 'r', 'H', 'x', 'N', 'B', 'h', 'V', 'K']);
/**
 * What the simulator can reproduce faithfully. The rest are recognised by real bsub but change
 * how a job runs in ways the simulator does not model, so it refuses them instead of pretending.
 */
const NOT_SIMULATED = new Set(['E', 'Ep', 'w', 'b', 't', 'f', 'k', 'L', 'is', 'i', 'Zs', 'Ip', 'Is', 'I', 'K', 'X', 'O', 's', 'h', 'V']);

/**
 * @typedef {Record<string, string | true>} BsubOptions  option name (no dash) → value, or true for flags
 * @typedef {{ options: BsubOptions, command: string[] } | { error: string }} ParsedArgs
 */

/**
 * Split bsub's argv into options and the command (everything from the first non-option word).
 * @param {readonly string[]} argv
 * @returns {ParsedArgs}
 */
export function parseBsubArgs(argv) {
  /** @type {BsubOptions} */
  const options = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const word = /** @type {string} */ (argv[i]);
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    const name = word.slice(1);
    if (FLAG_OPTIONS.has(name)) options[name] = true;
    else if (VALUE_OPTIONS.has(name)) {
      const value = argv[i + 1];
      if (value === undefined) return { error: `bsub: option requires an argument -- ${name}` };
      options[name] = value;
      i++;
    } else return { error: `bsub: illegal option -- ${name}` };
  }
  return { options, command: argv.slice(i) };
}

/**
 * The names of options the simulator refuses (see NOT_SIMULATED).
 * @param {BsubOptions} options
 */
export function unsimulatedOptions(options) {
  return Object.keys(options).filter((name) => NOT_SIMULATED.has(name));
}

/**
 * Words of one directive line after `#BSUB`, or [] when the line is not a directive.
 * As in cmd.sub.c parseLine: `#`, optional spaces, `BSUB`, optional spaces, then it must go on
 * with `-`; words are split on blanks with `'…'`/`"…"` grouping; a word starting `#` ends it.
 * @param {string} line
 * @returns {string[]}
 */
export function directiveWords(line) {
  const match = /^\s*#\s*BSUB\s*(-.*)$/.exec(line);
  if (!match) return [];
  const words = [];
  for (const word of shellWords(/** @type {string} */ (match[1]))) {
    if (word.startsWith('#')) break;
    words.push(word);
  }
  return words;
}

/**
 * Blank-separated words with single/double quotes grouping (quotes removed), no escapes.
 * @param {string} text
 */
export function shellWords(text) {
  /** @type {string[]} */
  const words = [];
  let current = '';
  let inWord = false;
  /** @type {string | null} */
  let quote = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/**
 * Read a job script given on stdin: every `#BSUB` directive (continuation lines joined) and
 * whether it holds a command at all (cmd.sub.c: "No command is specified in the script file").
 * @param {string} script
 * @returns {{ directives: string[], hasCommand: boolean }}
 */
export function readScript(script) {
  /** @type {string[]} */
  const directives = [];
  let hasCommand = false;
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = /** @type {string} */ (lines[i]);
    if (/^\s*#/.test(line)) {
      // Only a line whose first character is `#` continues with a trailing backslash.
      if (line.startsWith('#') && line.includes('BSUB')) {
        while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i];
      }
      directives.push(...directiveWords(line));
      continue;
    }
    const trimmed = line.trim();
    if (trimmed !== '' && !trimmed.startsWith('#')) hasCommand = true;
  }
  return { directives, hasCommand };
}

/**
 * Options from the command line and from directives: the command line wins, as in cmd.sub.c
 * (directives are applied with the command line's options masked out).
 * @param {BsubOptions} commandLine
 * @param {BsubOptions} fromScript
 * @returns {BsubOptions}
 */
export function mergeOptions(commandLine, fromScript) {
  /** @type {BsubOptions} */
  const merged = { ...fromScript };
  // -o/-oo and -e/-eo are one setting each: a command-line -oo replaces a directive's -o.
  if ('o' in commandLine || 'oo' in commandLine) {
    delete merged.o;
    delete merged.oo;
  }
  if ('e' in commandLine || 'eo' in commandLine) {
    delete merged.e;
    delete merged.eo;
  }
  return { ...merged, ...commandLine };
}

/**
 * The command string bsub builds from argv words (cmd.sub.c CopyCommand): words joined by
 * blanks, a word with a blank quoted with `"` (or `'` when it holds `"` or `$`).
 * @param {readonly string[]} words
 */
export function commandLineOf(words) {
  return words
    .map((word, index) => {
      if (index === 0 || !word.includes(' ')) return word;
      return word.includes('"') || word.includes('$') ? `'${word}'` : `"${word}"`;
    })
    .join(' ');
}

/**
 * @typedef {{ name: string, indices: number[], limit: number | null, steps: Record<number, number> }} ArraySpec
 *   `steps`: for each index, the step of the range it came from (LSB_JOBINDEX_STEP)
 */

/**
 * The job name of `-J`, split into an array spec when it has `[…]`:
 * `name[1-10:2,15]%3` → indices 1,3,5,7,9,15 and at most 3 running.
 * @param {string} jobName
 * @param {number} maxArraySize  MAX_JOB_ARRAY_SIZE (default 1000)
 * @returns {ArraySpec | { error: string } | null}  null when the name is not an array
 */
export function parseArraySpec(jobName, maxArraySize = 1000) {
  const open = jobName.indexOf('[');
  if (open < 0) return null;
  const match = /^([^[\]]*)\[([^\]]*)\](?:%(\d+))?$/.exec(jobName);
  if (!match) return { error: 'Bad job name' };
  const [, name = '', list = '', limitText] = match;
  /** @type {number[]} */
  const indices = [];
  /** @type {Record<number, number>} */
  const steps = {};
  for (const part of list.split(',')) {
    const range = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!range) return { error: 'Job array index error' };
    const start = Number(range[1]);
    const end = range[2] === undefined ? start : Number(range[2]);
    const step = range[3] === undefined ? 1 : Number(range[3]);
    if (start < 1 || end < start || step < 1) return { error: 'Job array index error' };
    if (end > maxArraySize) return { error: 'Job array index too large' };
    for (let index = start; index <= end; index += step) {
      if (!indices.includes(index)) indices.push(index);
      steps[index] ??= step;
    }
  }
  indices.sort((a, b) => a - b);
  const limit = limitText === undefined ? null : Number(limitText);
  if (limit !== null && limit < 1) return { error: 'Job array index error' };
  return { name, indices, limit, steps };
}

/**
 * `-W [hours:]minutes` → seconds (LSF run limits are in minutes).
 * @param {string} text
 * @returns {number | null}
 */
export function runLimitSeconds(text) {
  const match = /^(?:(\d+):)?(\d+)$/.exec(text.replace(/\/.*$/, ''));
  if (!match) return null;
  return (Number(match[1] ?? 0) * 60 + Number(match[2])) * 60;
}

/**
 * `-n min[,max]` → the slot count LSF allocates (the minimum).
 * @param {string} text
 * @returns {number | null}
 */
export function slotCount(text) {
  const match = /^(\d+)(?:,(\d+))?$/.exec(text);
  if (!match) return null;
  const min = Number(match[1]);
  return min >= 1 && (match[2] === undefined || Number(match[2]) >= min) ? min : null;
}

/**
 * A resource requirement string is syntactically sound when its section brackets balance and
 * every section name is one LSF knows. Good enough to refuse what real LSF refuses in practice
 * (unbalanced brackets, unknown sections, duplicate sections).
 * @param {string} text
 * @returns {string | null}  LSF's reason text, or null when acceptable
 */
export function resourceRequirementError(text) {
  let depth = 0;
  for (const ch of text) {
    if (ch === '[') depth++;
    else if (ch === ']' && --depth < 0) return 'Bad resource requirement syntax';
  }
  if (depth !== 0) return 'Bad resource requirement syntax';
  const sections = [...text.matchAll(/([A-Za-z_]+)\s*\[/g)].map((m) => /** @type {string} */ (m[1]));
  const known = ['select', 'order', 'rusage', 'span', 'same', 'cu', 'affinity', 'filter'];
  const seen = new Set();
  for (const section of sections) {
    if (!known.includes(section)) return 'Bad resource requirement syntax';
    if (seen.has(section)) return `Error near "${section}" : duplicate section`;
    seen.add(section);
  }
  return null;
}

/**
 * `%J` → job id, `%I` → array index (0 for non-arrays), in -o/-e paths (IBM bsub -o page).
 * A path ending in `/` names a directory: the file is `<jobid>.out` / `<jobid>.err` in it.
 * @param {string} pattern
 * @param {number} jobId
 * @param {number} index
 * @param {'out' | 'err'} kind
 */
export function outputPath(pattern, jobId, index, kind) {
  const expanded = pattern.replaceAll('%J', String(jobId)).replaceAll('%I', String(index));
  return expanded.endsWith('/') ? `${expanded}${jobId}.${kind}` : expanded;
}
