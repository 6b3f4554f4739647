// @ts-check
/**
 * The Scyld/BProc cluster the simulator pretends to be (scyld.md §1–2): a master (-1) and
 * compute nodes 0..N-1, each with a status (up, down, error, boot, …) and an execute mode;
 * node specifications (`5`, `2-6`, `1,2,4-10`, `all`, `allup`, `allX`, `-1`, an address
 * `10.54.0.N`); and bpstat's layouts, from bpstat.c. The node table comes from the simulator's
 * config (`nodes`, `cpusPerNode`, `nodeStates`) overlaid by failure injection
 * (`{ nodes: { 2: 'down' }, refuse: [1] }`).
 * @module
 */
import { readConfig, readInjection } from '../engine.mjs';

/**
 * @typedef {{ node: number, status: string, mode: string, user: string, group: string, address: string, cpus: number, refuses: boolean }} NodeInfo
 */

/** BPROC_STATE_LEN: the Status column width. */
const STATE_LEN = 12;

/**
 * Every compute node (not the master), by number.
 * @param {string} dir
 * @returns {NodeInfo[]}
 */
export function computeNodes(dir) {
  const config = readConfig(dir);
  const injection = readInjection(dir);
  const count = Number(config.nodes ?? 4);
  const states = { ...(config.nodeStates ?? {}), ...(injection.nodes ?? {}) };
  const refusing = new Set([...(config.refuse ?? []), ...(injection.refuse ?? [])].map(Number));
  return Array.from({ length: count }, (_, node) => ({
    node,
    status: String(states[String(node)] ?? 'up'),
    // A node that refuses the caller has no execute bit for it (bpctl -m); nodes that are not
    // up show no execute bits either (ClusterWare's bpstat sample).
    mode: refusing.has(node) || String(states[String(node)] ?? 'up') !== 'up' ? '----------' : '---x--x--x',
    user: 'root',
    group: 'root',
    address: `10.54.0.${node + 1}`,
    cpus: Number(config.cpusPerNode ?? 2),
    refuses: refusing.has(node),
  }));
}

/**
 * The master's entry (always up).
 * @returns {NodeInfo}
 */
export const masterNode = () => ({ node: -1, status: 'up', mode: '---x--x--x', user: 'root', group: 'root', address: '10.54.0.0', cpus: 0, refuses: false });

/**
 * Nodes named by one node specification, or null when it is not one.
 * @param {string} spec
 * @param {NodeInfo[]} nodes  compute nodes
 * @returns {NodeInfo[] | null}
 */
export function selectNodes(spec, nodes) {
  /** @type {NodeInfo[]} */
  const selected = [];
  for (const part of spec.split(',')) {
    if (part === '') return null;
    const all = /^all(.*)$/.exec(part);
    if (all) {
      selected.push(...nodes.filter((n) => all[1] === '' || n.status === all[1]));
      continue;
    }
    const address = /^10\.54\.0\.(\d+)$/.exec(part);
    if (address) {
      const node = nodes.find((n) => n.address === part) ?? (part === masterNode().address ? masterNode() : undefined);
      if (!node) return null;
      selected.push(node);
      continue;
    }
    const range = /^(-1|\d+)(?:-(\d+))?$/.exec(part);
    if (!range) return null;
    const start = Number(range[1]);
    const end = range[2] === undefined ? start : Number(range[2]);
    if (end < start) return null;
    for (let n = start; n <= end; n++) {
      const node = n === -1 ? masterNode() : nodes.find((x) => x.node === n);
      if (!node) return null;
      selected.push(node);
    }
  }
  return selected;
}

/**
 * `bpstat` compact output (bpstat.c print_nodes_compact, 80 columns when not a terminal):
 * runs of nodes with the same status/mode/user/group, sorted by status then number.
 * @param {NodeInfo[]} nodes
 * @param {'status' | 'number' | 'none'} sort
 * @param {boolean} reverse
 */
export function compactTable(nodes, sort = 'status', reverse = false) {
  const width = 80 - (STATE_LEN + 10 + 8 + 8 + 5);
  const sorted = sortNodes(nodes, sort, reverse);
  const lines = [`${'Node(s)'.padEnd(width)} ${'Status'.padEnd(STATE_LEN)} ${'Mode'.padEnd(10)} ${'User'.padEnd(8)} ${'Group'.padEnd(8)}`];
  const same = (/** @type {NodeInfo} */ a, /** @type {NodeInfo} */ b) => a.status === b.status && a.mode === b.mode && a.user === b.user && a.group === b.group;
  for (let i = 0; i < sorted.length;) {
    const first = /** @type {NodeInfo} */ (sorted[i]);
    let text = '';
    let j = i;
    while (j < sorted.length && same(first, /** @type {NodeInfo} */ (sorted[j]))) {
      let k = j;
      while (k + 1 < sorted.length && same(/** @type {NodeInfo} */ (sorted[j]), /** @type {NodeInfo} */ (sorted[k + 1])) && sorted[k + 1]?.node === (sorted[k]?.node ?? 0) + 1) k++;
      text += `${text ? ',' : ''}${sorted[j]?.node}${k > j ? `-${sorted[k]?.node}` : ''}`;
      j = k + 1;
    }
    const cell = (/** @type {string} */ s, /** @type {number} */ w) => s.slice(0, w).padEnd(w);
    lines.push(`${cell(text, width)} ${cell(first.status, STATE_LEN)} ${cell(first.mode, 10)} ${cell(first.user, 8)} ${cell(first.group, 8)}`);
    i = j;
  }
  return lines;
}

/**
 * `bpstat -l`: `%4d %-15s %-12s %s\t%-10.10s %-10.10s` per node.
 * @param {NodeInfo[]} nodes
 * @param {'status' | 'number' | 'none'} sort
 * @param {boolean} reverse
 */
export function longTable(nodes, sort = 'number', reverse = false) {
  return [
    'Node Address         Status       Mode          User       Group',
    ...sortNodes(nodes, sort, reverse).map(
      (n) => `${String(n.node).padStart(4)} ${n.address.padEnd(15)} ${n.status.padEnd(12)} ${n.mode}\t${n.user.slice(0, 10).padEnd(10)} ${n.group.slice(0, 10).padEnd(10)}`,
    ),
  ];
}

/**
 * @param {NodeInfo[]} nodes
 * @param {'status' | 'number' | 'none'} sort
 * @param {boolean} reverse
 */
export function sortNodes(nodes, sort, reverse) {
  if (sort === 'none') return [...nodes];
  const byNumber = (/** @type {NodeInfo} */ a, /** @type {NodeInfo} */ b) => (reverse ? b.node - a.node : a.node - b.node);
  if (sort === 'number') return [...nodes].sort(byNumber);
  return [...nodes].sort((a, b) => (a.status === b.status ? a.node - b.node : (a.status < b.status ? -1 : 1) * (reverse ? -1 : 1)));
}
