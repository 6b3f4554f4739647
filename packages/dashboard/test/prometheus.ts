/**
 * A small parser of the Prometheus text format (0.0.4), enough to check what /metrics says:
 * every sample line must parse, and every sample must belong to a declared metric.
 * @module
 */
export interface ParsedMetrics {
  types: Map<string, string>;
  /** `name{a="x",b="y"}` (labels sorted) → value. */
  samples: Map<string, number>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function sampleKey(name: string, labels: Record<string, string | number> = {}): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${String(v)}"`).join(',')}}`;
}

export function parsePrometheus(text: string): ParsedMetrics {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      if (!name || !['counter', 'gauge', 'summary', 'histogram', 'untyped'].includes(type ?? '')) throw new Error(`bad TYPE line: ${line}`);
      types.set(name, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = match;
    const labels: Record<string, string> = {};
    let consumed = 0;
    for (const label of (labelText ?? '').matchAll(LABEL)) {
      labels[label[1]!] = label[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      consumed += label[0].length;
    }
    if (labelText && consumed + Math.max(0, Object.keys(labels).length - 1) !== labelText.length) throw new Error(`bad labels: ${line}`);
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value: ${line}`);
    const family = [...types.keys()].find((declared) => name === declared || name!.startsWith(`${declared}_`));
    if (!family) throw new Error(`sample of an undeclared metric: ${line}`);
    samples.set(sampleKey(name!, labels), value);
  }
  return { types, samples };
}
