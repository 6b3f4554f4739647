/**
 * qrsh, declared: Grid Engine without a job script — one `qrsh -now no -V …` per worker, for
 * sites whose shared filesystem is slow (ClusterManagers.jl's QRSHManager). The worker's
 * output comes back through qrsh; ending qrsh ends the remote worker and its job within a
 * second (checked on SoGE 8.1.9), so no `stop` command is needed. It is ended with SIGINT:
 * a qrsh still waiting in the queue ignores SIGTERM, and SIGKILL would leave its job queued.
 * @module
 */
import { type Flag, type ProcessDriver, shellJoin } from '@cm/core/driver';
import { sgeHint } from './driver.js';
import { checkSgeOptions, peFlag, type SgeSettings, sgeOptionFlags, walltimeOf } from './options.js';

/** The `-l` list's `h_rt` among rendered flags, in seconds (the worker learns its end from it). */
function walltimeOfFlags(flags: readonly Flag[]): number | undefined {
  const list = flags.find((flag) => flag[0] === '-l')?.[1];
  const entry = list?.split(',').find((item) => item.startsWith('h_rt='));
  return entry ? walltimeOf({ walltime: entry.slice('h_rt='.length) }) : undefined;
}

/**
 * The remote command line: qrsh joins its arguments with spaces and the remote shell splits
 * them again, so the worker goes as one shell-quoted line (with its walltime end, when known).
 */
export function remoteLine(worker: readonly string[], walltimeSeconds: number | undefined): string {
  if (!walltimeSeconds) return shellJoin(worker);
  const script = `export CM_ENDS_AT=$(( ($(date +%s) + ${walltimeSeconds}) * 1000 )); exec ${shellJoin(worker)}`;
  return shellJoin(['/bin/sh', '-c', script]);
}

const drivers = new Map<string, ProcessDriver>();

/** The qrsh driver for these settings. */
export function qrshDriver(settings: SgeSettings): ProcessDriver {
  const key = JSON.stringify(settings);
  let driver = drivers.get(key);
  if (!driver) {
    driver = {
      name: 'sge',
      flagStyle: 'single-dash',
      optionFlags: (options) => [...sgeOptionFlags(options, settings), ...peFlag(options, 1)],
      processes: {
        per: 'worker',
        stopSignal: 'SIGINT',
        // -now no: wait in the queue like a batch job (and run in batch queues); -V: the worker's
        // connection settings travel in qrsh's environment (the secret stays in its 0600 file).
        command: ({ flags, extraFlags, worker }) => ['qrsh', '-now', 'no', '-V', ...flags.flat(), ...extraFlags, remoteLine(worker, walltimeOfFlags(flags))],
        taskIndexVars: [],
        jobIdVars: ['JOB_ID'],
        hint: sgeHint,
      },
      walltimeSeconds: walltimeOf,
      check: (options) => checkSgeOptions(options),
    };
    drivers.set(key, driver);
  }
  return driver;
}
