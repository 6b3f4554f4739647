/**
 * Scyld ClusterWare (BProc), declared: no queue — `beomap --no-local --np N` chooses a node
 * per worker, `bpsh NODE node …/cm-worker` starts each worker there in the foreground, and
 * `bpsh NODE kill PID` stops it (killing bpsh leaves the migrated process running).
 * Command-line contract: /work/shared/schedulers/scyld.md (bpsh.c, bpstat.c, Penguin docs,
 * ClusterManagers.jl src/scyld.jl).
 * @module
 */
import type { CommandOutput, FlagValue, ProcessDriver } from '@cm/core/driver';
import { z } from 'zod';

/** bpsh's options (bpsh.c usage), typed: each becomes `-X value` before the node number. */
export const scyldOptionsSchema = z.object({
  /** `-n`: the worker's stdin from /dev/null (it reads nothing anyway). */
  n: z.union([z.literal(''), z.boolean()]).optional(),
  /** `-L`: line-buffer the remote output. */
  L: z.union([z.literal(''), z.boolean()]).optional(),
  /** `-p`: line-buffer and prefix each output line with the node number. */
  p: z.union([z.literal(''), z.boolean()]).optional(),
  /** `-b N`: I/O buffer size in bytes (default 4096). */
  b: z.number().int().positive().optional(),
});

/** Settings that shape the node map (beomap's options), not bpsh flags. */
export const scyldSettingsSchema = z.object({
  /** `beomap --exclude`: nodes never to use, a BProc node list (`"2,5-7"`). */
  exclude: z
    .string()
    .regex(/^-?\d+(?:-\d+)?(?:[,:]-?\d+(?:-\d+)?)*$/, 'use a node list like "2,5-7"')
    .optional(),
  /**
   * `NO_OVER` in beomap's environment: fail rather than put more workers on a node than it has
   * CPUs. beomap has no command-line flag for it (scyld.md §3 lists it among the variables only).
   */
  noOver: z.boolean().default(false),
});

/** Every option bpsh takes (bpsh.c), as one-letter names; long forms are aliases. */
export const BPSH_OPTION_NAMES: readonly string[] = ['a', 'A', 'n', 'N', 'L', 'p', 's', 'd', 'b', 'I', 'O', 'E', 't'];

/** bpsh's long options, and ClusterManagers.jl-style spellings. */
export const SCYLD_ALIASES: Readonly<Record<string, string>> = { stdin: 'I', stdout: 'O', stderr: 'E', time: 't', bpshFlags: 'submitFlags' };

/** Options that would break one-worker-per-node launching, and why. */
const RESERVED: Readonly<Record<string, string>> = {
  a: 'beomap chooses the nodes: `-a` would start a worker on every up node',
  A: 'beomap chooses the nodes: `-A` would start a worker on every node that is not down',
  N: "`-N` drops the worker's stderr, which explains a worker that fails to start",
  I: 'workers read nothing on stdin',
};

/**
 * beomap's one line: a node number per worker, colon-separated (`0:1:2:3`, `0:0:1:1`), as
 * ClusterManagers.jl reads it. Numbers only; `-1` (the master) only if beomap put a worker
 * there; exactly `np` of them.
 */
export function parseBeomap({ stdout }: CommandOutput, np: number): string[] | { error: string } {
  const line = (stdout.split('\n').find((l) => l.trim() !== '') ?? '').trim();
  if (!line) return { error: 'it printed no node map' };
  const nodes = line.split(':').map((node) => node.trim());
  const bad = nodes.find((node) => !/^-?\d+$/.test(node) || Number(node) < -1);
  if (bad !== undefined) return { error: `its map "${line}" has "${bad}", which is not a node number` };
  if (nodes.length !== np) return { error: `its map "${line}" has ${nodes.length} node${nodes.length === 1 ? '' : 's'} for ${np} worker${np === 1 ? '' : 's'}` };
  return nodes;
}

const HINTS: [RegExp, string][] = [
  [/Operation not permitted/, 'a node refuses your user (its mode or owner, see `bpstat -l`): ask the administrators, or leave it out with the `exclude` setting'],
  [/Host is down|not up|No route to host/i, 'a node is not up (`bpstat`): wait until it is, or leave it out with the `exclude` setting'],
  [/Invalid node specification/, 'beomap returned a node bpsh does not know: check `bpstat`'],
  [/command not found/, "bpsh resolves the program on the master's PATH: check that Node.js is installed there (process.execPath)"],
  [/no compute nodes|no nodes|inaccessible|need more CPUs/i, 'no compute node is up and usable (`bpstat`): ask for fewer workers, wait for nodes, or check the `exclude` and `noOver` settings'],
];

/** What to tell the user from what beomap or bpsh printed. */
export function scyldHint(said: string): string | undefined {
  return HINTS.find(([pattern]) => pattern.test(said))?.[1];
}

/** The check of bpsh options before anything starts. */
export function checkOptions(options: Readonly<Record<string, FlagValue>>): string | undefined {
  const reserved = Object.keys(options).find((key) => key in RESERVED && options[key] !== false);
  return reserved ? `\`${reserved}\`: ${RESERVED[reserved]}` : undefined;
}

/** Scyld for @cm's machinery, with beomap shaped by the settings. */
export function scyldDriver(settings: { exclude?: string | undefined; noOver?: boolean | undefined } = {}): ProcessDriver {
  return {
    name: 'scyld',
    flagStyle: 'single-dash',
    processes: {
      per: 'worker',
      place: {
        command: (np) => [...(settings.noOver ? ['env', 'NO_OVER=1'] : []), 'beomap', '--no-local', '--np', String(np), ...(settings.exclude ? ['--exclude', settings.exclude] : [])],
        parse: parseBeomap,
      },
      // The whole environment of bpsh travels with the migrated process; node is resolved on the
      // master. A shell on the node says its pid first and `exec`s the worker under that pid,
      // so a worker that never joins can still be stopped by `bpsh NODE kill PID`.
      command: ({ place, flags, extraFlags, worker }) => ['bpsh', ...flags.flat(), ...extraFlags, place!, 'sh', '-c', 'echo "cm-remote-pid $$"; exec "$@"', 'sh', ...worker],
      // bpsh -p prefixes each line with the node number (`%3d: `, scyld.md §4).
      remotePid: /^(?:\s*-?\d+: )?cm-remote-pid (\d+)$/m,
      stop: ({ place, pid }) => ['bpsh', place!, 'kill', String(pid)],
      taskIndexVars: [],
      jobIdVars: [],
      hint: scyldHint,
    },
    check: (options) => checkOptions(options),
  };
}
