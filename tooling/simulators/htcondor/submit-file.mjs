// @ts-check
/**
 * The HTCondor submit description language as condor_submit reads it (htcondor.md §2,
 * htcondor-jdl.rst): `key = value` lines (keys case-insensitive, `+Attr`/`MY.Attr` custom
 * attributes), `#` comments, `\` continuations, macros `$(name)` (`$(Cluster)`, `$(Process)`,
 * `$(ClusterId)`, `$(ProcId)`, `$(JobId)`, `$(Item)`, `$(Step)`, `$(Row)`, other keys),
 * `$ENV(NAME)`, `$INT(name,%05d)`, and `queue` statements (`queue [N]`,
 * `queue [N] var in (a b c)`, `queue [N] var[,var2] from file|( … )`, `queue [N] var matching glob`).
 * Keys set between `queue` lines apply to the queues after them. Pure apart from reading
 * `from` files and `matching` directories.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * One queued proc, before macro expansion: the submit keys in force at its `queue`, and the
 * loop variables (`Item` etc.) of its row.
 * @typedef {{ keys: Record<string, string>, custom: Record<string, string>, vars: Record<string, string>, step: number, row: number }} QueuedProc
 */

/**
 * @param {string} text  the submit description
 * @param {{ cwd: string }} context  where `from` files and `matching` globs are read
 * @returns {{ procs: QueuedProc[] } | { error: string }}
 */
export function parseSubmitFile(text, { cwd }) {
  /** @type {Record<string, string>} */
  const keys = {};
  /** @type {Record<string, string>} */
  const custom = {};
  /** @type {QueuedProc[]} */
  const procs = [];
  const physical = text.split('\n');
  for (let i = 0; i < physical.length; i++) {
    const lineNumber = i + 1;
    let line = /** @type {string} */ (physical[i]).replace(/\r$/, '');
    while (line.endsWith('\\') && i + 1 < physical.length) line = line.slice(0, -1) + /** @type {string} */ (physical[++i]).replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const queue = /^queue\b(.*)$/i.exec(trimmed);
    if (queue) {
      let rest = /** @type {string} */ (queue[1]).trim();
      // An `in (` list may span lines up to the closing parenthesis.
      if (/\(\s*[^)]*$/.test(rest) && !rest.includes(')')) {
        while (i + 1 < physical.length && !rest.includes(')')) rest += `\n${physical[++i]}`;
        if (!rest.includes(')')) return { error: `Failed to parse command file (line ${lineNumber}).` };
      }
      const rows = queueRows(rest, cwd);
      if ('error' in rows) return { error: `${rows.error} (line ${lineNumber}).` };
      for (let row = 0; row < rows.items.length; row++) {
        for (let step = 0; step < rows.count; step++) procs.push({ keys: { ...keys }, custom: { ...custom }, vars: /** @type {Record<string, string>} */ (rows.items[row]), step, row });
      }
      continue;
    }
    const assignment = /^([+]?[A-Za-z_][\w.]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!assignment) return { error: `Failed to parse command file (line ${lineNumber}).` };
    const name = /** @type {string} */ (assignment[1]);
    const value = /** @type {string} */ (assignment[2]).trim();
    if (name.startsWith('+')) custom[name.slice(1)] = value;
    else if (/^my\./i.test(name)) custom[name.slice(3)] = value;
    else keys[name.toLowerCase()] = value;
  }
  return { procs };
}

/**
 * The rows a queue statement produces and how many copies of each.
 * @param {string} rest  what follows `queue`
 * @param {string} cwd
 * @returns {{ count: number, items: Record<string, string>[] } | { error: string }}
 */
function queueRows(rest, cwd) {
  const countMatch = /^(\d+)\s*(.*)$/s.exec(rest);
  const count = countMatch ? Number(countMatch[1]) : 1;
  const body = (countMatch ? /** @type {string} */ (countMatch[2]) : rest).trim();
  if (body === '') return { count, items: [{}] };
  const form = /^(.*?)\s+(in|from|matching)\s+(.*)$/is.exec(body) ?? /^()(in|from|matching)\s+(.*)$/is.exec(body);
  if (!form) return { error: 'Failed to parse command file' };
  const names = /** @type {string} */ (form[1].trim() || 'Item').split(/[\s,]+/).filter(Boolean);
  const verb = /** @type {string} */ (form[2]).toLowerCase();
  const source = /** @type {string} */ (form[3]).trim();
  /** @type {string[]} */
  let lines;
  if (verb === 'in') {
    const list = /^\((.*)\)$/s.exec(source)?.[1] ?? source;
    lines = list.split(/[\s,]+/).filter(Boolean);
    return { count, items: lines.map((item) => ({ [names[0] ?? 'Item']: item })) };
  }
  if (verb === 'matching') {
    const pattern = source.replace(/^(files|dirs)\s+/i, '');
    const regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    const matches = fs
      .readdirSync(cwd)
      .filter((name) => regex.test(name))
      .sort();
    return { count, items: matches.map((item) => ({ [names[0] ?? 'Item']: item })) };
  }
  const inline = /^\((.*)\)$/s.exec(source);
  if (inline) lines = /** @type {string} */ (inline[1]).split('\n');
  else {
    const file = path.resolve(cwd, source);
    if (!fs.existsSync(file)) return { error: `Failed to open file ${source}` };
    lines = fs.readFileSync(file, 'utf8').split('\n');
  }
  const rows = lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return {
    count,
    items: rows.map((row) => {
      const fields = names.length > 1 ? row.split(/\s*,\s*|\s+/) : [row];
      /** @type {Record<string, string>} */
      const item = {};
      names.forEach((name, k) => (item[name] = k === names.length - 1 ? fields.slice(k).join(' ') : (fields[k] ?? '')));
      return item;
    }),
  };
}

/**
 * Expand `$(…)`, `$ENV(…)` and `$INT(…)` in one value, for one proc.
 * Unknown macros expand to nothing, as in condor_submit.
 * @param {string} value
 * @param {{ cluster: number, proc: number, keys: Record<string, string>, vars: Record<string, string>, step: number, row: number, env: NodeJS.ProcessEnv }} context
 * @param {number} [depth]
 * @returns {string}
 */
export function expandMacros(value, context, depth = 0) {
  if (depth > 20) return value;
  return value.replace(/\$(ENV|INT|REAL)?\(([^()]*)\)/gi, (_whole, fn, inner) => {
    const [name = '', ...rest] = String(inner).split(',');
    const fallback = name.includes(':') ? name.slice(name.indexOf(':') + 1) : undefined;
    const bare = name.includes(':') ? name.slice(0, name.indexOf(':')) : name;
    if (fn && fn.toUpperCase() === 'ENV') return context.env[bare.trim()] ?? fallback ?? '';
    const raw = lookup(bare.trim(), context);
    const resolved = raw === undefined ? (fallback ?? '') : expandMacros(raw, context, depth + 1);
    if (fn && /^(INT|REAL)$/i.test(fn)) {
      const number = Number(resolved);
      const format = rest.join(',').trim();
      return format ? formatNumber(number, format) : String(fn.toUpperCase() === 'INT' ? Math.trunc(number) : number);
    }
    return resolved;
  });
}

/**
 * @param {string} name
 * @param {{ cluster: number, proc: number, keys: Record<string, string>, vars: Record<string, string>, step: number, row: number }} context
 * @returns {string | undefined}
 */
function lookup(name, context) {
  switch (name.toLowerCase()) {
    case 'cluster':
    case 'clusterid':
      return String(context.cluster);
    case 'process':
    case 'procid':
      return String(context.proc);
    case 'jobid':
      return `${context.cluster}.${context.proc}`;
    case 'step':
      return String(context.step);
    case 'row':
      return String(context.row);
    case 'node':
      return '';
  }
  const variable = Object.keys(context.vars).find((k) => k.toLowerCase() === name.toLowerCase());
  if (variable !== undefined) return context.vars[variable];
  return context.keys[name.toLowerCase()];
}

/**
 * printf-style `%d`, `%05d`, `%x`, `%.2f` for $INT/$REAL.
 * @param {number} value
 * @param {string} format
 */
function formatNumber(value, format) {
  return format.replace(/%(0?)(\d*)(?:\.(\d+))?([dixf])/, (_m, zero, width, precision, kind) => {
    let text = kind === 'f' ? value.toFixed(precision ? Number(precision) : 6) : kind === 'x' ? Math.trunc(value).toString(16) : String(Math.trunc(value));
    if (width) text = text.padStart(Number(width), zero ? '0' : ' ');
    return text;
  });
}

/**
 * `arguments`: new syntax (whole value in double quotes; whitespace separates; single quotes
 * group; a doubled quote is a literal quote) or old syntax (whitespace separates; backslash
 * escapes a double quote).
 * @param {string} value
 * @returns {string[]}
 */
export function parseArguments(value) {
  const text = value.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) return splitNewSyntax(text.slice(1, -1));
  /** @type {string[]} */
  const args = [];
  for (const word of text.split(/\s+/).filter(Boolean)) args.push(word.replace(/\\"/g, '"'));
  return args;
}

/**
 * Split new-syntax args/environment: whitespace separates, `'…'` groups, `''` inside single
 * quotes and `""` anywhere are literal quotes.
 * @param {string} text
 */
function splitNewSyntax(text) {
  /** @type {string[]} */
  const words = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = /** @type {string} */ (text[i]);
    if (ch === '"' && text[i + 1] === '"') {
      current += '"';
      inWord = true;
      i++;
    } else if (ch === "'") {
      if (quoted && text[i + 1] === "'") {
        current += "'";
        i++;
      } else {
        quoted = !quoted;
        inWord = true;
      }
    } else if (!quoted && /\s/.test(ch)) {
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
 * `environment`: new syntax `"A=1 B='two words'"` or old syntax `A=1;B=2`.
 * @param {string} value
 * @returns {Record<string, string>}
 */
export function parseEnvironment(value) {
  const text = value.trim();
  const entries =
    text.startsWith('"') && text.endsWith('"') && text.length >= 2
      ? splitNewSyntax(text.slice(1, -1))
      : text
          .split(';')
          .map((s) => s.trim())
          .filter(Boolean);
  /** @type {Record<string, string>} */
  const env = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/**
 * The submit-time environment `getenv` copies: `True`/`False`, or a matchlist
 * `PATH, CM_*, !SECRET*` (case-insensitive, `*` wildcards, `!` excludes, first match wins).
 * @param {string | undefined} value
 * @param {NodeJS.ProcessEnv} env
 * @returns {Record<string, string>}
 */
export function getenvSelection(value, env) {
  const text = (value ?? 'false').trim();
  if (/^(true|yes|1)$/i.test(text)) return /** @type {Record<string, string>} */ ({ ...env });
  if (/^(false|no|0)$/i.test(text) || text === '') return {};
  const patterns = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => ({
      exclude: p.startsWith('!'),
      regex: new RegExp(
        `^${p
          .replace(/^!/, '')
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')}$`,
        'i',
      ),
    }));
  /** @type {Record<string, string>} */
  const selected = {};
  for (const [name, v] of Object.entries(env)) {
    const match = patterns.find((p) => p.regex.test(name));
    if (match && !match.exclude && v !== undefined) selected[name] = v;
  }
  return selected;
}

/**
 * `request_memory` in MB (default unit MB; K/M/G/T suffixes, KiB..TiB) or `request_disk` in KiB.
 * @param {string} value
 * @param {'MB' | 'KB'} defaultUnit
 * @returns {number | null}
 */
export function sizeIn(value, defaultUnit) {
  const match = /^\s*([\d.]+)\s*([KMGT])?i?B?\s*$/i.exec(value);
  if (!match) return null;
  const kib = { K: 1, M: 1024, G: 1024 ** 2, T: 1024 ** 3 };
  const unit = /** @type {keyof typeof kib} */ ((match[2] ?? (defaultUnit === 'MB' ? 'M' : 'K')).toUpperCase());
  const inKib = Number(match[1]) * kib[unit];
  return Math.ceil(defaultUnit === 'MB' ? inKib / 1024 : inKib);
}
