// @ts-check
/**
 * Just enough of the ClassAd language for the HTCondor simulator: evaluating `-constraint`
 * expressions (`ClusterId == 12 && JobStatus =!= 4`, `Owner == "alice"`, `time()`), and
 * printing attribute values the way condor_q/condor_history print them in `-af`, `-long` and
 * `-json` forms. Values: number, string, boolean, null (= undefined), or `{ expr }` for an
 * attribute that holds an unevaluated expression (Requirements, PeriodicRemove).
 * @module
 */

/** @typedef {number | string | boolean | null | { expr: string }} AdValue */
/** @typedef {Record<string, AdValue>} Ad */

const TOKEN = /\s*(?:(\d+\.\d*(?:[eE][-+]?\d+)?|\d+)|("(?:[^"\\]|\\.)*")|([A-Za-z_][\w.]*)|(=\?=|=!=|==|!=|<=|>=|&&|\|\||[-+*/%<>!(),?:]))/y;

/**
 * @param {string} text
 * @returns {{ kind: 'num' | 'str' | 'id' | 'op', text: string }[]}
 */
function tokenize(text) {
  const tokens = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) throw new SyntaxError(`unexpected text at ${at}`);
    at = TOKEN.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: /** @type {const} */ ('num'), text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: /** @type {const} */ ('str'), text: JSON.parse(m[2]) });
    else if (m[3] !== undefined) tokens.push({ kind: /** @type {const} */ ('id'), text: m[3] });
    else tokens.push({ kind: /** @type {const} */ ('op'), text: /** @type {string} */ (m[4]) });
  }
  return tokens;
}

const PRECEDENCE = [['||'], ['&&'], ['==', '!=', '=?=', '=!='], ['<', '>', '<=', '>='], ['+', '-'], ['*', '/', '%']];

/**
 * Parse an expression once; evaluate it against ads with the returned function.
 * @param {string} text
 * @returns {(ad: Ad) => AdValue}  throws SyntaxError on a malformed expression
 */
export function compile(text) {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  /** @param {string} op */
  const accept = (op) => {
    if (peek()?.kind === 'op' && peek()?.text === op) {
      pos++;
      return true;
    }
    return false;
  };
  /** @returns {(ad: Ad) => AdValue} */
  const ternary = () => {
    const cond = binary(0);
    if (!accept('?')) return cond;
    const yes = ternary();
    if (!accept(':')) throw new SyntaxError('expected :');
    const no = ternary();
    return (ad) => (truthy(cond(ad)) ? yes(ad) : no(ad));
  };
  /** @param {number} level @returns {(ad: Ad) => AdValue} */
  const binary = (level) => {
    if (level >= PRECEDENCE.length) return unary();
    let left = binary(level + 1);
    for (;;) {
      const token = peek();
      if (token?.kind !== 'op' || !PRECEDENCE[level]?.includes(token.text)) return left;
      pos++;
      const right = binary(level + 1);
      const l = left;
      left = (ad) => apply(token.text, l, right, ad);
    }
  };
  /** @returns {(ad: Ad) => AdValue} */
  const unary = () => {
    if (accept('!')) {
      const inner = unary();
      return (ad) => {
        const v = inner(ad);
        return typeof v === 'boolean' ? !v : v === null ? null : !truthy(v);
      };
    }
    if (accept('-')) {
      const inner = unary();
      return (ad) => {
        const v = inner(ad);
        return typeof v === 'number' ? -v : null;
      };
    }
    return primary();
  };
  /** @returns {(ad: Ad) => AdValue} */
  const primary = () => {
    const token = tokens[pos++];
    if (!token) throw new SyntaxError('unexpected end of expression');
    if (token.kind === 'num') {
      const n = Number(token.text);
      return () => n;
    }
    if (token.kind === 'str') return () => token.text;
    if (token.kind === 'op' && token.text === '(') {
      const inner = ternary();
      if (!accept(')')) throw new SyntaxError('expected )');
      return inner;
    }
    if (token.kind !== 'id') throw new SyntaxError(`unexpected ${token.text}`);
    const lower = token.text.toLowerCase();
    if (lower === 'true') return () => true;
    if (lower === 'false') return () => false;
    if (lower === 'undefined') return () => null;
    if (accept('(')) {
      /** @type {((ad: Ad) => AdValue)[]} */
      const args = [];
      if (!accept(')')) {
        do args.push(ternary());
        while (accept(','));
        if (!accept(')')) throw new SyntaxError('expected )');
      }
      return (ad) =>
        call(
          lower,
          args.map((a) => a(ad)),
        );
    }
    const name = token.text.replace(/^(MY|TARGET)\./i, '');
    return (ad) => {
      const key = Object.keys(ad).find((k) => k.toLowerCase() === name.toLowerCase());
      const value = key === undefined ? null : /** @type {AdValue} */ (ad[key]);
      if (value !== null && typeof value === 'object') {
        try {
          return compile(value.expr)(ad);
        } catch {
          return null;
        }
      }
      return value;
    };
  };
  const root = ternary();
  if (pos !== tokens.length) throw new SyntaxError(`unexpected ${tokens[pos]?.text}`);
  return root;
}

/** @param {AdValue} v */
const truthy = (v) => v === true || (typeof v === 'number' && v !== 0);

/**
 * @param {string} op
 * @param {(ad: Ad) => AdValue} left
 * @param {(ad: Ad) => AdValue} right
 * @param {Ad} ad
 * @returns {AdValue}
 */
function apply(op, left, right, ad) {
  const l = left(ad);
  if (op === '&&') {
    if (l === false || l === 0) return false;
    const r = right(ad);
    if (r === false || r === 0) return false;
    return l === null || r === null ? null : true;
  }
  if (op === '||') {
    if (truthy(l)) return true;
    const r = right(ad);
    if (truthy(r)) return true;
    return l === null || r === null ? null : false;
  }
  const r = right(ad);
  if (op === '=?=') return identical(l, r);
  if (op === '=!=') return !identical(l, r);
  if (l === null || r === null) return null;
  if (op === '==' || op === '!=') {
    const same = typeof l === 'string' && typeof r === 'string' ? l.toLowerCase() === r.toLowerCase() : Number(l) === Number(r);
    return op === '==' ? same : !same;
  }
  if (typeof l === 'string' || typeof r === 'string') {
    if (op === '+') return null;
    const a = String(l).toLowerCase();
    const b = String(r).toLowerCase();
    return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
  }
  const a = Number(l);
  const b = Number(r);
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? null : Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b;
    case '%':
      return b === 0 ? null : a % b;
  }
  return null;
}

/** @param {AdValue} a @param {AdValue} b */
function identical(a, b) {
  if (a === null || b === null) return a === b;
  if (typeof a !== typeof b) return false;
  return a === b;
}

/**
 * @param {string} name
 * @param {AdValue[]} args
 * @returns {AdValue}
 */
function call(name, args) {
  switch (name) {
    case 'time':
      return Math.floor(Date.now() / 1000);
    case 'int':
      return args[0] === null ? null : Math.trunc(Number(args[0]));
    case 'real':
      return args[0] === null ? null : Number(args[0]);
    case 'string':
      return args[0] === null ? null : String(args[0]);
    case 'isundefined':
      return args[0] === null;
    case 'isstring':
      return typeof args[0] === 'string';
    case 'ifthenelse':
      return truthy(args[0] ?? null) ? (args[1] ?? null) : (args[2] ?? null);
    case 'strcmp':
      return String(args[0]) < String(args[1]) ? -1 : String(args[0]) > String(args[1]) ? 1 : 0;
    case 'member':
      return typeof args[1] === 'string' ? args[1].split(/\s*,\s*/).includes(String(args[0])) : false;
  }
  return null;
}

/**
 * A value as ClassAd source text (`-long`, `-af:r`, `-af:V`): strings quoted, reals with a point.
 * @param {AdValue | undefined} value
 */
export function unparse(value) {
  if (value === undefined || value === null) return 'undefined';
  if (typeof value === 'object') return value.expr;
  if (typeof value === 'string') return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  if (typeof value === 'number' && !Number.isInteger(value)) return String(value);
  return String(value);
}

/**
 * A value as `-af` prints it: strings bare, others as source text; expressions evaluated
 * unless raw.
 * @param {AdValue | undefined} value
 * @param {Ad} ad
 * @param {{ raw: boolean, quoted: boolean }} options
 */
export function autoformatValue(value, ad, { raw, quoted }) {
  let v = value;
  if (!raw && v !== null && typeof v === 'object') {
    try {
      v = compile(v.expr)(ad);
    } catch {
      v = null;
    }
  }
  if (typeof v === 'string' && !quoted) return v;
  return unparse(v);
}

/**
 * Evaluate an `-af` argument: an attribute name or an expression over the ad.
 * @param {string} expression
 * @param {Ad} ad
 * @returns {AdValue | undefined}
 */
export function attributeOrExpression(expression, ad) {
  const key = Object.keys(ad).find((k) => k.toLowerCase() === expression.toLowerCase());
  if (key !== undefined) return ad[key];
  try {
    return compile(expression)(ad);
  } catch {
    return null;
  }
}

/**
 * One ad in condor_q's JSON writer layout (compat_classad.cpp): two-space indent,
 * `"Name": value`, expressions as strings of their source.
 * @param {Ad} ad
 * @param {string[] | null} attributes  `-attributes` list (sorted output) or null for all (sorted)
 */
export function jsonAd(ad, attributes) {
  const names = (attributes ? attributes.map((a) => Object.keys(ad).find((k) => k.toLowerCase() === a.toLowerCase())).filter((k) => k !== undefined) : Object.keys(ad)).sort((a, b) =>
    a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0,
  );
  const lines = names.map((name) => {
    const v = /** @type {AdValue} */ (ad[/** @type {string} */ (name)]);
    // The writer prints an expression as the string "\/Expr(<source>)\/" (a literal backslash-slash).
    const text = v === null ? 'null' : typeof v === 'object' ? `"\\/Expr(${JSON.stringify(v.expr).slice(1, -1)})\\/"` : JSON.stringify(v);
    return `  ${JSON.stringify(name)}: ${text}`;
  });
  return `{\n${lines.join(',\n')}\n}`;
}

/**
 * Ads in the JSON writer layout: `[`, ads separated by `,` lines, `]`; nothing at all for none.
 * @param {Ad[]} ads
 * @param {string[] | null} attributes
 */
export function jsonAds(ads, attributes) {
  if (ads.length === 0) return '';
  return `[\n${ads.map((ad) => jsonAd(ad, attributes)).join('\n,\n')}\n]\n`;
}

/**
 * `-long`: `Name = value` lines, a blank line after each ad.
 * @param {Ad[]} ads
 * @param {string[] | null} attributes
 */
export function longAds(ads, attributes) {
  return ads
    .map((ad) => {
      const names = attributes ? Object.keys(ad).filter((k) => attributes.some((a) => a.toLowerCase() === k.toLowerCase())) : Object.keys(ad).sort();
      return `${names.map((n) => `${n} = ${unparse(ad[n])}`).join('\n')}\n\n`;
    })
    .join('');
}
