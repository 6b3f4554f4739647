// @ts-check
/**
 * `-l` resources as the server accepts and records them (Resource_List): walltime
 * normalised to HH:MM:SS, PBS Pro `select=` chunks summed into ncpus/nodect, old
 * `nodes=N:ppn=M` converted (and refused when mixed with `:mem=`, ert#7355), unknown
 * resources and malformed values refused with their pbs_errno.
 * @module
 */
import { PBSE } from './dialect.mjs';
import { hms, parseWalltime } from './model.mjs';

const KNOWN = {
  pbspro: [
    'walltime',
    'select',
    'place',
    'nodes',
    'ncpus',
    'mem',
    'vmem',
    'pmem',
    'pvmem',
    'cput',
    'pcput',
    'mpiprocs',
    'ompthreads',
    'ngpus',
    'host',
    'vnode',
    'arch',
    'software',
    'file',
    'nodect',
    'naccelerators',
    'accelerator',
    'soft_walltime',
    'min_walltime',
    'max_walltime',
    'nice',
    'preempt_targets',
    'site',
  ],
  torque: [
    'walltime',
    'nodes',
    'procs',
    'ncpus',
    'mem',
    'vmem',
    'pmem',
    'pvmem',
    'cput',
    'pcput',
    'gres',
    'feature',
    'naccesspolicy',
    'nice',
    'file',
    'host',
    'arch',
    'software',
    'epilogue',
    'prologue',
    'signal',
    'qos',
    'other',
    'flags',
    'gpus',
    'mics',
    'nodeset',
    'opsys',
    'tpn',
    'trl',
    'minwclimit',
    'partition',
    'latency',
    'ddisk',
    'pmem',
    'neednodes',
  ],
};

/** `4gb` → lower-case units as the server prints them; undefined if not a size. @param {string} v */
const size = (v) => (/^\d+([kmgtp]?[bw])?$/i.test(v) ? v.toLowerCase() : undefined);

/**
 * @param {[string, string][]} pairs in order; later pairs win
 * @param {import('./dialect.mjs').Dialect} dialect @param {any} config
 * @returns {{ list: Record<string, string>, walltimeSeconds?: number, nodeCount?: number, ppn?: number } | { error: number, detail?: string }}
 */
export function buildResources(pairs, dialect, config) {
  const known = [...KNOWN[dialect.name], ...(config.resources ?? [])];
  /** @type {Record<string, string>} */
  const given = {};
  for (const [name, value] of pairs) given[name] = value;
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) return { error: PBSE.UNKRESC, detail: dialect.name === 'torque' ? `Invalid resource: ${name}` : `: ${name}` };
  }
  /** @type {Record<string, string>} */
  const list = { ...given };
  /** @type {number | undefined} */
  let walltimeSeconds;
  if (given.walltime !== undefined) {
    walltimeSeconds = parseWalltime(given.walltime);
    if (walltimeSeconds === undefined) return badValue(dialect, 'walltime');
    list.walltime = hms(walltimeSeconds);
  }
  for (const name of ['mem', 'vmem', 'pmem', 'pvmem']) {
    if (given[name] === undefined) continue;
    const normalised = size(given[name]);
    if (normalised === undefined) return badValue(dialect, name);
    list[name] = normalised;
  }
  if (given.ncpus !== undefined && !/^\d+$/.test(given.ncpus)) return badValue(dialect, 'ncpus');
  let nodeCount = 1;
  let ppn = Number(given.ncpus ?? 1);
  if (given.nodes !== undefined) {
    const nodes = parseNodes(given.nodes);
    // PBS Pro takes old nodes= syntax but not with other resources inside it (ert#7355).
    if (!nodes || (dialect.name === 'pbspro' && nodes.other)) return { error: PBSE.BADNODESPEC };
    nodeCount = nodes.count;
    ppn = nodes.ppn;
    if (dialect.name === 'pbspro') {
      list.select = `${nodes.count}:ncpus=${nodes.ppn}:mpiprocs=${nodes.ppn}`;
      list.place = list.place ?? 'scatter';
    } else {
      list.neednodes = given.nodes;
    }
    list.ncpus = String(nodes.count * nodes.ppn);
  }
  if (dialect.name === 'pbspro') {
    if (given.select !== undefined) {
      const chunks = parseSelect(given.select);
      if (!chunks) return { error: PBSE.BADNODESPEC };
      nodeCount = chunks.reduce((n, c) => n + c.count, 0);
      list.ncpus = String(chunks.reduce((n, c) => n + c.count * c.ncpus, 0));
      ppn = chunks[0]?.ncpus ?? 1;
    } else if (given.nodes === undefined) {
      list.select = `1:ncpus=${given.ncpus ?? 1}`;
      list.ncpus = given.ncpus ?? '1';
    }
    list.place = list.place ?? (nodeCount > 1 ? 'free' : 'pack');
  } else if (given.nodes === undefined) {
    list.nodes = '1';
  }
  list.nodect = String(nodeCount);
  const sorted = Object.fromEntries(Object.entries(list).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { list: sorted, walltimeSeconds, nodeCount, ppn };
}

/** @param {import('./dialect.mjs').Dialect} dialect @param {string} name */
const badValue = (dialect, name) => ({ error: PBSE.BADATVAL, detail: dialect.name === 'torque' ? `Resource_List.${name}` : ` Resource_List.${name}` });

/** `2:ppn=4`, `1`, `node01:ppn=2` → count and ppn; other `x=y` parts are reported. @param {string} text */
function parseNodes(text) {
  const parts = text.split(':');
  const first = /** @type {string} */ (parts[0]);
  const count = /^\d+$/.test(first) ? Number(first) : 1;
  if (count < 1) return undefined;
  let ppn = 1;
  let other = false;
  for (const part of parts.slice(1)) {
    const [key, value] = part.split('=');
    if (key === 'ppn') {
      if (!value || !/^\d+$/.test(value)) return undefined;
      ppn = Number(value);
    } else if (value !== undefined) other = true;
  }
  return { count, ppn, other };
}

/** `2:ncpus=4:mem=8gb+1:ncpus=1` → chunks. @param {string} text */
function parseSelect(text) {
  const chunks = [];
  for (const chunk of text.split('+')) {
    const parts = chunk.split(':');
    let count = 1;
    if (/^\d+$/.test(/** @type {string} */ (parts[0]))) count = Number(parts.shift());
    let ncpus = 1;
    for (const part of parts) {
      const match = /^([A-Za-z_][\w.-]*)=([^=]+)$/.exec(part);
      if (!match) return undefined;
      if (match[1] === 'ncpus') {
        if (!/^\d+$/.test(/** @type {string} */ (match[2]))) return undefined;
        ncpus = Number(match[2]);
      }
    }
    if (count < 1) return undefined;
    chunks.push({ count, ncpus });
  }
  return chunks;
}
