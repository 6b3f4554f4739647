// @ts-check
/**
 * qstat's output forms, ported from the printing code of the real commands: the summary
 * table (OpenPBS display_statjob / Torque display_job_summary widths and truncation), the
 * full text form (prt_attr: 4-space indent, comma-preferring wrap at 78/77 columns with a
 * newline + TAB), `-F json` (prt_attr's JSON typing printed as cJSON_Print does, or the
 * 4-space style of PBS 19-21) and Torque's `-x` XML.
 * @module
 */
import { ctime } from './model.mjs';

/** @typedef {import('./model.mjs').Entry} Entry */
/** @typedef {import('./model.mjs').Attr} Attr */

const TIME_ATTRS = new Set(['ctime', 'etime', 'stime', 'obittime', 'mtime', 'qtime', 'start_time', 'comp_time']);

/** Epoch-valued attributes are printed as ctime strings (qstat.c display_statjob). @param {Attr[]} attrs @returns {Attr[]} */
const withTimes = (attrs) => attrs.map(([n, r, v]) => (TIME_ATTRS.has(n) && r === null ? [n, r, ctime(Number(v))] : [n, r, v]));

/**
 * prt_attr's text form: break at commas when the next piece does not fit, else hard-wrap.
 * @param {string} name @param {string | null} resource @param {string} value @param {number} limit 78 (OpenPBS) / 77 (Torque) @param {boolean} oneLine
 */
export function textAttribute(name, resource, value, limit, oneLine) {
  const label = resource === null ? name : `${name}.${resource}`;
  if (oneLine) return `    ${label} = ${value}`;
  let out = `    ${label} = `;
  let start = label.length + 7;
  let first = true;
  const pieces = value.split(',').filter((p) => p !== ''); // strtok skips empty tokens
  pieces.forEach((piece, i) => {
    if (piece.length + start < limit) {
      out += piece;
      start += piece.length;
    } else {
      if (!first) {
        out += '\n\t';
        start = 9;
      }
      for (const ch of piece) {
        out += ch;
        if (++start > limit) {
          start = 8;
          out += '\n\t';
        }
      }
    }
    if (i + 1 < pieces.length) {
      first = false;
      out += ',';
    }
  });
  return out;
}

/** `qstat -f`. @param {Entry[]} entries @param {'pbspro' | 'torque'} dialect @param {boolean} oneLine */
export function fullText(entries, dialect, oneLine) {
  const limit = dialect === 'torque' ? 77 : 78;
  return entries
    .map(
      (e) =>
        `Job Id: ${e.id}\n${withTimes(e.attrs)
          .map(([n, r, v]) => `${textAttribute(n, r, v, limit, oneLine)}\n`)
          .join('')}\n`,
    )
    .join('');
}

/** cJSON_ParseWithOpts(value) or a string, as pbs_json_insert_parsed does. @param {string} value */
function parsed(value) {
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value) && !value.startsWith('+')) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value === 'null') return null;
  if (/^["[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

const STRING_ATTRS = new Set(['Job_Name', 'project', 'Account_Name']);

/** One job as qstat's JSON object (batch_item_json_type_triage). @param {Attr[]} attrs */
function jsonJob(attrs) {
  /** @type {Record<string, any>} */
  const job = {};
  for (const [name, resource, value] of withTimes(attrs)) {
    if (resource !== null) {
      job[name] = job[name] ?? {};
      job[name][resource] = parsed(value);
    } else if (name === 'Variable_List') {
      /** @type {Record<string, any>} */
      const vars = {};
      for (const item of value.split(/(?<!\\),/)) {
        const eq = item.indexOf('=');
        const key = eq < 0 ? item : item.slice(0, eq);
        vars[key] = eq < 0 ? null : parsed(item.slice(eq + 1).replaceAll('\\,', ','));
      }
      job[name] = vars;
    } else job[name] = STRING_ATTRS.has(name) ? value : parsed(value);
  }
  return job;
}

/** @param {unknown} v */
const jsonNumber = (v) => (Number.isInteger(v) && Math.abs(/** @type {number} */ (v)) < 2 ** 31 ? String(v) : String(Number(/** @type {number} */ (v).toPrecision(15))));

/**
 * cJSON_Print (TAB indent, `"key":\tvalue`) or the PBS 19-21 printer (4 spaces, `"key":value`).
 * @param {unknown} value @param {'cjson' | 'legacy'} style @param {number} depth @returns {string}
 */
export function printJson(value, style, depth = 0) {
  const indent = (/** @type {number} */ d) => (style === 'cjson' ? '\t'.repeat(d) : '    '.repeat(d));
  const sep = style === 'cjson' ? ':\t' : ':';
  if (value === null) return 'null';
  if (typeof value === 'number') return jsonNumber(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  const entries = Object.entries(/** @type {object} */ (value));
  if (entries.length === 0) return style === 'cjson' ? `{\n${indent(depth)}}` : '{}';
  /** @type {string} */
  const body = entries.map(([k, v]) => `${indent(depth + 1)}${JSON.stringify(k)}${sep}${printJson(v, style, depth + 1)}`).join(',\n');
  return `{\n${body}\n${indent(depth)}}`;
}

/**
 * `qstat -f -F json`: the prologue always, `Jobs` when at least one job was displayed.
 * @param {Entry[] | null} entries null = no job displayed @param {{ server: string, version: string, jsonStyle?: 'cjson' | 'legacy' }} config
 */
export function fullJson(entries, config) {
  /** @type {Record<string, unknown>} */
  const root = { timestamp: Math.floor(Date.now() / 1000), pbs_version: config.version, pbs_server: config.server };
  if (entries) root.Jobs = Object.fromEntries(entries.map((e) => [e.id, jsonJob(e.attrs)]));
  const style = config.jsonStyle ?? (Number(config.version.split('.')[0]) >= 22 ? 'cjson' : 'legacy');
  return `${printJson(root, style)}\n`;
}

/** @param {string} v @param {number} width truncate longer values to width-1 chars + '*' */
const cut = (v, width) => (v.length > width ? `${v.slice(0, width - 1)}*` : v);
const get = (/** @type {Entry} */ e, /** @type {string} */ name, /** @type {string | null} */ res = null) => e.attrs.find(([n, r]) => n === name && r === res)?.[2];

/** The summary table. @param {Entry[]} entries @param {'pbspro' | 'torque'} dialect @param {boolean} wide */
export function table(entries, dialect, wide) {
  if (dialect === 'torque') {
    const rows = entries.map((e) => {
      const owner = (get(e, 'Job_Owner') ?? '').split('@')[0] ?? '';
      const cols = [
        e.id.padEnd(26),
        (get(e, 'Job_Name') ?? '').slice(0, 16).padEnd(16),
        owner.slice(0, 15).padEnd(15),
        (get(e, 'resources_used', 'cput') ?? '0').padStart(8),
        e.state,
        (get(e, 'queue') ?? '').padEnd(15),
      ];
      return `${cols.join(' ')}\n`;
    });
    return `Job ID                    Name             User            Time Use S Queue\n------------------------- ---------------- --------------- -------- - -----\n${rows.join('')}`;
  }
  const header = wide
    ? 'Job id                         Name            User             Time Use S Queue\n-----------------------------  --------------- ---------------  -------- - ---------------\n'
    : 'Job id            Name             User              Time Use S Queue\n----------------  ---------------- ----------------  -------- - -----\n';
  const [idW, nameW, userW, queueW] = wide ? [30, 15, 15, 15] : [17, 16, 16, 16];
  const rows = entries.map((e) => {
    // `<seq>.<first label of the server>`, cut to the column.
    const [seq, label = ''] = e.id.split('.');
    const id = cut(label ? `${seq}.${label}` : `${seq}`, idW);
    const rawName = get(e, 'Job_Name') ?? '';
    const name = rawName.length >= nameW ? `${rawName.slice(0, nameW - 1)}*` : rawName;
    const owner = cut((get(e, 'Job_Owner') ?? '').split('@')[0] ?? '', userW);
    const time = cut(get(e, 'resources_used', 'cput') ?? '0', 8);
    const queue = cut(get(e, 'queue') ?? '', queueW);
    return `${id.padEnd(idW)} ${name.padEnd(nameW)} ${owner.padEnd(userW)}  ${time.padStart(8)} ${e.state} ${queue.padEnd(queueW)}\n`;
  });
  return header + rows.join('');
}

/** @param {string} s */
const xml = (s) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Torque `qstat -x`: one `<Data>` element, each job a `<Job>` with attributes as elements. @param {Entry[]} entries */
export function torqueXml(entries) {
  const jobs = entries.map((e) => {
    /** @type {Map<string, string>} */
    const groups = new Map();
    let body = `<Job_Id>${xml(e.id)}</Job_Id>`;
    for (const [n, r, v] of e.attrs) {
      if (r === null) body += `<${n}>${xml(v)}</${n}>`;
      else groups.set(n, `${groups.get(n) ?? ''}<${r}>${xml(v)}</${r}>`);
    }
    for (const [n, inner] of groups) body += `<${n}>${inner}</${n}>`;
    return `<Job>${body}</Job>`;
  });
  return `<?xml version="1.0"?>\n<Data>${jobs.join('')}</Data>\n`;
}
