/**
 * How `cm` finds a driver by package name: the `cmDriver` descriptor a driver package exports
 * (or, failing that, its one manager class), resolved from the current directory like an
 * `import` in a program there would be. The convention is in docs/writing-a-driver.md.
 * @module
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import type { ClusterManager } from '../manager/types.js';

/**
 * What a driver package exports as `cmDriver`, so the `cm` command line can make its managers:
 *
 * ```ts
 * export const cmDriver: CmDriver = {
 *   name: 'slurm',
 *   description: 'workers as Slurm jobs (sbatch)',
 *   optionsSchema: slurmOptionsSchema,
 *   create: (np, options) => new SlurmManager(np, options),
 * };
 * ```
 */
export interface CmDriver {
  /** The driver's name: its site config section and `CM_<NAME>_*` variables. */
  readonly name: string;
  /** One line for `cm --help` and `cm doctor`. */
  readonly description?: string;
  /**
   * The driver's typed options. `cm` reads every option as text (`--cpus-per-task 2`); with
   * the schema it turns text into a number or boolean where the option wants one.
   */
  readonly optionsSchema?: z.ZodObject;
  /** A manager of `np` workers (undefined: the driver's default, e.g. the whole allocation) with these options (camelCase keys). */
  create(np: number | undefined, options: Record<string, unknown>): ClusterManager;
}

/** A driver `cm` loaded, and the package it came from. */
export interface LoadedDriver {
  readonly driver: CmDriver;
  readonly packageName: string;
  readonly file: string;
}

/** A short name means the package of that name in the `@cm` scope (`<name>` → `@cm/<name>`), or a package of that very name; simq is core's own simulated scheduler. */
function candidates(name: string): string[] {
  if (name === 'simq') return ['@cm/core/testing'];
  if (name.startsWith('@') || name.includes('/') || name.startsWith('.')) return [name];
  return [`@cm/${name}`, name];
}

/** Resolve a package name from `cwd` (as a program there would), then from core's own install. */
function resolvePackage(specifier: string, cwd: string): string | undefined {
  if (specifier.startsWith('.')) specifier = path.resolve(cwd, specifier);
  for (const base of [path.join(cwd, 'noop.js'), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(base).resolve(specifier);
    } catch {
      // next place
    }
  }
  return undefined;
}

type ManagerClass = new (np: number | undefined, options: Record<string, unknown>) => ClusterManager;

function isManagerClass(value: unknown): value is ManagerClass {
  return typeof value === 'function' && typeof (value as { prototype?: { launch?: unknown } }).prototype?.launch === 'function';
}

/** The descriptor of a loaded module: its `cmDriver`, or a descriptor around its one manager class. */
export function descriptorOf(module: Record<string, unknown>, packageName: string): CmDriver {
  const declared = module.cmDriver as Partial<CmDriver> | undefined;
  if (declared !== undefined) {
    if (typeof declared !== 'object' || declared === null || typeof declared.name !== 'string' || typeof declared.create !== 'function') {
      throw new UsageError(`${packageName} exports a \`cmDriver\` that is not a driver descriptor: it needs \`name\` (a string) and \`create(np, options)\`; see docs/writing-a-driver.md`, 'driver');
    }
    return declared as CmDriver;
  }
  const classes = Object.entries(module).filter((entry): entry is [string, ManagerClass] => isManagerClass(entry[1]));
  if (classes.length !== 1) {
    const found = classes.length ? `several manager classes (${classes.map(([n]) => n).join(', ')})` : 'no manager class';
    throw new UsageError(`${packageName} exports no \`cmDriver\` and ${found}: export \`cmDriver\` (docs/writing-a-driver.md) so \`cm\` knows how to make its managers`, 'driver');
  }
  const [exportName, Manager] = classes[0]!;
  return { name: exportName.replace(/Manager$/, '').toLowerCase(), create: (np, options) => new Manager(np, options) };
}

/**
 * Load a driver: a short name (→ `@cm/<name>`), `simq` (core's simulated scheduler), or any package
 * name or path (`cm-ssh-driver`, `@site/cm-driver`, `./my-driver.js`), resolved from `cwd`.
 * @throws UsageError saying what was tried and how to install it
 */
export async function loadDriver(name: string, cwd: string = process.cwd()): Promise<LoadedDriver> {
  const tried = candidates(name);
  for (const packageName of tried) {
    const file = resolvePackage(packageName, cwd);
    if (!file) continue;
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    return { driver: descriptorOf(module, packageName), packageName, file };
  }
  const install = tried.map((n) => `\`npm install ${n}\``).join(' or ');
  throw new UsageError(`no driver "${name}": ${tried.join(' and ')} cannot be found from ${cwd}; install it (${install}) in this project, or give a package name or path`, 'driver');
}
