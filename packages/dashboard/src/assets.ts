/**
 * The page and its files, read once from the package (`static/`) and from uPlot's own package
 * in node_modules: nothing is built for the user, nothing is fetched from elsewhere.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const STATIC = new URL('../static/', import.meta.url);

/** What `/assets/<name>` serves. */
export async function loadAssets(): Promise<ReadonlyMap<string, Asset>> {
  const require = createRequire(import.meta.url);
  const files: Array<[name: string, path: string | URL, type: string]> = [
    ['dashboard.js', new URL('dashboard.js', STATIC), 'text/javascript; charset=utf-8'],
    ['dashboard.css', new URL('dashboard.css', STATIC), 'text/css; charset=utf-8'],
    ['uPlot.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['uPlot.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  const assets = new Map<string, Asset>();
  for (const [name, path, type] of files) assets.set(name, { body: await readFile(path), type });
  return assets;
}

/** The page, with the token put into its asset URLs (every request needs it). */
export async function loadPage(): Promise<(token: string) => Buffer> {
  const template = await readFile(new URL('index.html', STATIC), 'utf8');
  return (token) => Buffer.from(template.replaceAll('{{token}}', encodeURIComponent(token)));
}
