// @ts-check
/**
 * The LSF simulator as a kind for createSimulator: its bin dir, defaults, and an lsf.conf in
 * the state dir (LSF_ENVDIR points at it, as on a real cluster), so tests switch
 * LSB_STDOUT_DIRECT / LSB_BSUB_PARSE_SCRIPT / LSB_BJOBS_DISPLAY_ENH with `lsfConf: {...}`.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJobIdArg } from './lsf.mjs';

/** @type {import('../registry.mjs').SimulatorKind} */
export const lsf = {
  binDir: fileURLToPath(new URL('./bin', import.meta.url)),
  submitCommands: ['bsub'],
  defaults: {
    queues: ['normal', 'short', 'long'],
    defaultQueue: 'normal',
    firstJobId: 1,
    cleanPeriod: 3600,
    maxSlots: 64,
    maxArraySize: 1000,
    cluster: 'cluster1',
    killGraceMs: 2000,
    secondsPerMinute: 60,
    lsfConf: {},
  },
  setup: (dir, config) => {
    const conf = path.join(dir, 'conf');
    fs.mkdirSync(conf, { recursive: true });
    const lines = Object.entries(config.lsfConf ?? {}).map(([key, value]) => `${key}=${value}`);
    fs.writeFileSync(path.join(conf, 'lsf.conf'), `# written by the LSF simulator (tooling/simulators/lsf/register.mjs)\n${lines.join('\n')}\n`);
  },
  env: (dir) => ({ LSF_ENVDIR: path.join(dir, 'conf') }),
  parseJobId: (id) => {
    const parsed = parseJobIdArg(String(id));
    if (!parsed) return undefined;
    return { id: parsed.id, index: parsed.indices?.[0] };
  },
};
