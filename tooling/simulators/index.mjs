// @ts-check
/**
 * The JS API tests use to run a scheduler simulator: `createSimulator(kind, options)` makes a
 * state directory, writes the config the fake commands read, and returns the PATH/CM_SIM_DIR
 * env to run drivers with, plus failure injection and views of what was submitted and run.
 *
 *   const sim = createSimulator('pbspro', { queues: ['workq', 'debug'] });
 *   await execa('qsub', ['job.sh'], { env: { ...process.env, ...sim.env } });
 *   sim.inject({ submit: [{ kind: 'refuse' }, { kind: 'transient', times: 2 }] });
 *   sim.jobs(); sim.submissions(); sim.killJob('12.pbs'); await sim.close();
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cancel, killAll, listJobs, liveProcesses, readLog, taskRecords, writeInjection, writeJson } from './engine.mjs';
import { registry } from './registry.mjs';

export { registry };

/** Default job id parsing: `12`, `12.server`, `12[3].server`, `12[].server`. @param {string | number} id */
function parseJobId(id) {
  const match = /^(\d+)(?:\[(\d*)\])?/.exec(String(id));
  if (!match) return undefined;
  return { id: Number(match[1]), index: match[2] ? Number(match[2]) : undefined };
}

/**
 * @param {string} kind one of Object.keys(registry): 'pbspro' | 'torque' | ...
 * @param {{ dir?: string, [option: string]: unknown }} [options] `dir` (default: a new temp dir) and kind-specific config
 */
export function createSimulator(kind, { dir, ...options } = {}) {
  const entry = registry[kind];
  if (!entry) throw new Error(`unknown simulator kind '${kind}'; known: ${Object.keys(registry).join(', ')} (tooling/simulators/registry.mjs)`);
  const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `cm-sim-${kind}-`));
  fs.mkdirSync(root, { recursive: true });
  const config = { ...(entry.defaults ?? {}), ...options, kind };
  writeJson(path.join(root, 'config.json'), config);
  entry.setup?.(root, config);
  /** @type {Record<string, string>} */
  const env = { ...(entry.env?.(root, config) ?? {}), PATH: `${entry.binDir}${path.delimiter}${process.env.PATH ?? ''}`, CM_SIM_DIR: root };
  const parse = entry.parseJobId ?? parseJobId;
  return {
    kind,
    binDir: entry.binDir,
    dir: root,
    /** Only PATH (bin dir first), CM_SIM_DIR and the kind's own variables: spread over process.env. */
    env,
    config,
    /** Replace the failure-injection rules (use counts restart). @param {Record<string, unknown>} spec */
    inject: (spec) => writeInjection(root, spec),
    /** Log entries of the submit commands, oldest first. */
    submissions: () => readLog(root).filter((e) => entry.submitCommands.includes(e.command)),
    /** Every logged command invocation, oldest first. */
    invocations: () => readLog(root),
    /** Job records with their task records. */
    jobs: () => listJobs(root).map((job) => ({ ...job, taskRecords: taskRecords(root, job) })),
    /**
     * Kill a job (or one array task) as the system would (node failure, OOM killer...): SIGKILL
     * unless verdict.signals says otherwise; the front-end reports `verdict` (kind-specific).
     * @param {string | number} id @param {{ signals?: string[], reason?: string, [key: string]: unknown }} [verdict]
     */
    killJob: (id, verdict = {}) => {
      const parsed = parse(id);
      if (!parsed) throw new Error(`killJob: cannot read a job id from '${id}'`);
      cancel(root, parsed.id, { index: parsed.index, cause: 'injected-kill', reason: verdict.reason, verdict, signals: verdict.signals ?? ['SIGKILL'], graceMs: 0 });
    },
    /** Pids of live processes the simulator started (runners, tasks, registered extras). */
    processes: () => liveProcesses(root).map((p) => p.pid),
    /** Kill everything the simulator started, wait for it to be gone (bounded), remove the dir. */
    close: async () => {
      for (let round = 0; round < 50; round++) {
        killAll(root);
        if (liveProcesses(root).length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** @typedef {ReturnType<typeof createSimulator>} Simulator */
