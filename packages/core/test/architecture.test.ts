// The import arrows of docs/architecture.md, enforced: every import in packages/core/src is
// checked against the parts it may reach, core imports no @cm package, and every driver
// package depends on @cm/core and nothing else of ours.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));
const packagesDir = fileURLToPath(new URL('../..', import.meta.url));

type Part = 'errors' | 'util' | 'protocol' | 'worker' | 'manager' | 'cluster' | 'local' | 'batch' | 'cli' | 'testing' | 'entry';

/** Which parts each part may import (type-only imports listed separately). */
const ALLOWED: Record<Part, { values: Part[]; types?: Part[] }> = {
  errors: { values: [] },
  util: { values: ['errors'] },
  protocol: { values: ['util', 'errors'] },
  worker: { values: ['protocol', 'util', 'errors'] },
  manager: { values: ['util', 'errors'], types: ['cluster'] },
  cluster: { values: ['protocol', 'worker', 'manager', 'util', 'errors'] },
  local: { values: ['manager', 'worker', 'util', 'errors'] },
  batch: { values: ['manager', 'local', 'worker', 'util', 'errors'], types: ['cluster'] },
  cli: { values: ['manager', 'cluster', 'batch', 'util', 'errors'] },
  testing: { values: ['errors', 'util', 'protocol', 'worker', 'manager', 'cluster', 'local', 'batch', 'cli', 'entry'] },
  entry: { values: ['errors', 'util', 'protocol', 'worker', 'manager', 'cluster', 'local', 'batch'], types: ['cli'] },
};

function partOf(file: string): Part {
  const rel = path.relative(src, file).split(path.sep);
  if (rel.length === 1) return rel[0] === 'errors.ts' ? 'errors' : 'entry';
  return rel[0] as Part;
}

/** One import of one source file. */
export interface ImportEdge {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm)) {
    edges.push({ file, specifier: match[3]!, typeOnly: Boolean(match[2]) });
  }
  for (const match of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) edges.push({ file, specifier: match[1]!, typeOnly: false });
  return edges;
}

/** Every rule an import breaks, as a sentence. */
export function violations(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    const from = partOf(edge.file);
    if (edge.specifier.startsWith('@cm/')) {
      found.push(`${path.relative(src, edge.file)} imports ${edge.specifier}: core names no driver or other @cm package`);
      continue;
    }
    if (!edge.specifier.startsWith('.')) continue;
    const target = path.resolve(path.dirname(edge.file), edge.specifier);
    if (!target.startsWith(src + path.sep)) continue;
    const to = partOf(target.replace(/\.js$/, '.ts'));
    if (to === from) continue;
    const rule = ALLOWED[from];
    if (rule.values.includes(to) || (edge.typeOnly && rule.types?.includes(to))) continue;
    found.push(`${path.relative(src, edge.file)} (${from}) imports ${edge.specifier} (${to})${rule.types?.includes(to) ? ' for a value; only types are allowed' : ''}`);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

describe('architecture (docs/architecture.md)', () => {
  it('every import in core follows the allowed arrows, and core imports no @cm package', () => {
    const edges = sourceFiles(src).flatMap((file) => importsOf(file, readFileSync(file, 'utf8')));
    expect(edges.length).toBeGreaterThan(100);
    expect(violations(edges)).toEqual([]);
  });

  it('catches a forbidden import (protocol importing cluster, core importing a driver, a value import where only types may go)', () => {
    const at = (part: string) => path.join(src, part);
    expect(violations([{ file: at('protocol/frame.ts'), specifier: '../cluster/cluster.js', typeOnly: false }])).toEqual(['protocol/frame.ts (protocol) imports ../cluster/cluster.js (cluster)']);
    expect(violations([{ file: at('batch/manager.ts'), specifier: '@cm/slurm', typeOnly: false }])).toEqual(['batch/manager.ts imports @cm/slurm: core names no driver or other @cm package']);
    expect(violations([{ file: at('batch/manager.ts'), specifier: '../cluster/cluster.js', typeOnly: false }])).toEqual([
      'batch/manager.ts (batch) imports ../cluster/cluster.js (cluster) for a value; only types are allowed',
    ]);
    expect(violations([{ file: at('batch/manager.ts'), specifier: '../cluster/listener.js', typeOnly: true }])).toEqual([]);
  });

  it('every driver package depends on @cm/core (as a peer) and on no other @cm package', () => {
    const problems: string[] = [];
    for (const dir of readdirSync(packagesDir)) {
      const file = path.join(packagesDir, dir, 'package.json');
      let manifest: { name?: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
      try {
        manifest = JSON.parse(readFileSync(file, 'utf8')) as typeof manifest;
      } catch {
        continue;
      }
      if (!manifest.name?.startsWith('@cm/') || manifest.name === '@cm/core') continue;
      const ours = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((name) => name.startsWith('@cm/'));
      for (const name of ours.filter((n) => n !== '@cm/core')) problems.push(`${manifest.name} depends on ${name}`);
      if (!manifest.peerDependencies?.['@cm/core']) problems.push(`${manifest.name} does not list @cm/core as a peer dependency`);
      const driverSrc = path.join(packagesDir, dir, 'src');
      for (const source of sourceFiles(driverSrc)) {
        for (const edge of importsOf(source, readFileSync(source, 'utf8'))) {
          if (edge.specifier.startsWith('@cm/') && !edge.specifier.startsWith('@cm/core')) problems.push(`${path.relative(packagesDir, source)} imports ${edge.specifier}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
