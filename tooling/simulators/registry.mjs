// @ts-check
/**
 * Which simulator kinds exist: `createSimulator(kind)` in index.mjs looks kinds up here.
 * Each front-end family exports its SimulatorKind entries from its own register.mjs; to add a
 * kind, import it here and list it in `registry` (one line each).
 * @module
 */
import { pbspro, torque } from './pbs/register.mjs';
import { lsf } from './lsf/register.mjs';
import { htcondor } from './htcondor/register.mjs';
import { scyld } from './scyld/register.mjs';

/**
 * @typedef {object} SimulatorKind
 * @property {string} binDir absolute directory of the fake commands (goes first on PATH)
 * @property {string[]} submitCommands commands whose log entries `submissions()` returns
 * @property {Record<string, unknown>} [defaults] config defaults, overridden by createSimulator's options
 * @property {(dir: string, config: Record<string, any>) => void} [setup] prepare the state dir (config files...)
 * @property {(dir: string, config: Record<string, any>) => Record<string, string>} [env] extra env for the test (e.g. LSF_ENVDIR)
 * @property {(id: string | number) => { id: number, index?: number | null } | undefined} [parseJobId] job id text → engine ids (for killJob)
 */

/** @type {Record<string, SimulatorKind>} */
export const registry = {
  pbspro,
  torque,
  lsf,
  htcondor,
  scyld,
};
