// @ts-check
/**
 * The query side shared by condor_q and condor_history (htcondor.md §3): which ads the
 * arguments select (clusters `123`, jobs `123.4`, owners, `-constraint expr`), and the
 * machine-readable forms: `-af[:jrhl,tV] attr…` (every later word is an attribute),
 * `-json` (nothing at all when nothing matches), `-long`, `-attributes a,b`.
 * @module
 */
import { attributeOrExpression, autoformatValue, compile, jsonAds, longAds } from './classad.mjs';

/** @typedef {import('./classad.mjs').Ad} Ad */

/**
 * @typedef {object} Query
 * @property {{ cluster: number, proc: number | null }[]} ids
 * @property {string[]} owners
 * @property {((ad: Ad) => import('./classad.mjs').AdValue) | null} constraint
 * @property {string | null} constraintText
 * @property {{ attrs: string[], opts: string } | null} autoformat
 * @property {'json' | 'long' | 'table' | 'totals'} form
 * @property {string[] | null} attributes
 * @property {number | null} limit
 * @property {boolean} nobatch
 */

/**
 * @param {string[]} argv
 * @param {string} command  for error messages
 * @returns {Query | { error: string }}
 */
export function parseQuery(argv, command) {
  /** @type {Query} */
  const query = { ids: [], owners: [], constraint: null, constraintText: null, autoformat: null, form: 'table', attributes: null, limit: null, nobatch: false };
  for (let i = 0; i < argv.length; i++) {
    const word = /** @type {string} */ (argv[i]);
    const af = /^-(?:af|autoformat)(?::(.*))?$/.exec(word);
    if (af) {
      // -af takes every following word that is not an option as an attribute or expression.
      const attrs = [];
      while (i + 1 < argv.length && !/^-/.test(/** @type {string} */ (argv[i + 1]))) attrs.push(/** @type {string} */ (argv[++i]));
      if (attrs.length === 0) return { error: `${command}: -autoformat requires at least one attribute` };
      query.autoformat = { attrs, opts: af[1] ?? '' };
    } else if (word === '-json') query.form = 'json';
    else if (word === '-long' || word === '-l') query.form = 'long';
    else if (word === '-totals') query.form = 'totals';
    else if (word === '-nobatch' || word === '-nob') query.nobatch = true;
    else if (word === '-attributes' || word === '-attr')
      query.attributes = (argv[++i] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (word === '-constraint' || word === '-const') {
      const text = argv[++i] ?? '';
      try {
        query.constraint = compile(text);
        query.constraintText = text;
      } catch {
        return { error: `-- Parse error in constraint expression "${text}"` };
      }
    } else if (word === '-limit' || word === '-match') query.limit = Number(argv[++i]);
    else if (['-allusers', '-all', '-global', '-batch', '-wide', '-nobatch', '-run', '-idle', '-hold'].includes(word)) continue;
    else if (word.startsWith('-')) return { error: `${command}: unknown or unsimulated option ${word}` };
    else {
      const id = /^(\d+)(?:\.(\d+))?$/.exec(word);
      if (id) query.ids.push({ cluster: Number(id[1]), proc: id[2] === undefined ? null : Number(id[2]) });
      else query.owners.push(word);
    }
  }
  return query;
}

/**
 * Whether an ad is selected by the query's ids/owners (any of them) and constraint (all).
 * @param {Query} query
 * @param {Ad} ad
 */
export function selects(query, ad) {
  const any = query.ids.length + query.owners.length === 0;
  const byId = query.ids.some((id) => id.cluster === ad.ClusterId && (id.proc === null || id.proc === ad.ProcId));
  const byOwner = query.owners.some((o) => o === ad.Owner);
  if (!any && !byId && !byOwner) return false;
  return query.constraint === null || query.constraint(ad) === true;
}

/**
 * Print ads in the requested machine-readable form; null when the query asked for the
 * human table (the caller prints that).
 * @param {Query} query
 * @param {Ad[]} ads
 * @returns {string | null}
 */
export function formatAds(query, ads) {
  if (query.autoformat) {
    const { attrs, opts } = query.autoformat;
    const raw = opts.includes('r');
    const quoted = opts.includes('V');
    const sep = opts.includes(',') ? ',' : opts.includes('t') ? '\t' : ' ';
    const lines = [];
    if (opts.includes('h')) lines.push([...(opts.includes('j') ? ['ID'] : []), ...attrs].join(sep));
    for (const ad of ads) {
      const values = attrs.map((attr) => {
        const text = autoformatValue(attributeOrExpression(attr, ad), ad, { raw, quoted });
        return opts.includes('l') ? `${attr} = ${text}` : text;
      });
      lines.push([...(opts.includes('j') ? [`${ad.ClusterId}.${ad.ProcId}`] : []), ...values].join(sep));
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
  if (query.form === 'json') return jsonAds(ads, query.attributes);
  if (query.form === 'long') return longAds(ads, query.attributes);
  return null;
}
