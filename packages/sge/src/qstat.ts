/**
 * Reading what Grid Engine prints: `qstat -xml` (one `<job_list>` per running task, pending
 * tasks folded as `1-4:1` or `3,4`), its state letters, `qstat -j` error reasons and the job
 * id of `qsub -terse`. Formats as observed on SoGE 8.1.9 (tooling/schedulers/README.md) and
 * documented in qstat.1 / qstat_xml.c.
 * @module
 */
import type { CommandOutput, JobStateKind, RawJobStatus } from '@cm/core/driver';

/** `7`, or `7.1-4:1` for an array: the job id of `qsub -terse`. */
export function parseSubmitId(stdout: string): string | undefined {
  const lines = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  for (const line of lines.reverse()) {
    const match = /^(\d+)(?:\.\d+-\d+:\d+)?$/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/** `1-4:1`, `3,4`, `2-10:2,12` → the task numbers. */
export function expandTasks(spec: string): number[] {
  return spec.split(',').flatMap((part) => {
    const match = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!match) return [];
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    const step = Math.max(1, Number(match[3] ?? 1));
    const tasks: number[] = [];
    for (let task = from; task <= to && tasks.length < 100_000; task += step) tasks.push(task);
    return tasks;
  });
}

const field = (block: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(block)?.[1]?.trim();

/** Every `<job_list>` of `qstat -xml` as status lines, array tasks expanded. Undefined when it is not qstat's XML. */
export function parseQstatXml(stdout: string): RawJobStatus[] | undefined {
  if (!/<job_info[\s>]/.test(stdout)) return undefined;
  const statuses: RawJobStatus[] = [];
  for (const [block] of stdout.matchAll(/<job_list\b[^>]*>[\s\S]*?<\/job_list>/g)) {
    const jobId = field(block, 'JB_job_number');
    const printed = field(block, 'state');
    if (!jobId || !printed) continue;
    const tasks = field(block, 'tasks');
    const state = canonicalState(printed);
    const reason = stateReason(state);
    if (!tasks) statuses.push({ jobId, taskIndex: null, state, reason });
    else for (const taskIndex of expandTasks(tasks)) statuses.push({ jobId, taskIndex, state, reason });
  }
  return statuses;
}

/** The letters qstat combines into a state, in the order it prints them (sge_job.c `job_get_state_string`). */
const LETTERS = ['d', 'E', 'S', 'T', 'h', 'R', 'q', 'r', 's', 't', 'w'] as const;

/**
 * The letters in qstat's own order (`ts` → `st`), so every combination is a key of the state
 * table whatever order a Grid Engine version prints; letters not known are left as printed.
 */
export function canonicalState(state: string): string {
  if (![...state].every((letter) => (LETTERS as readonly string[]).includes(letter))) return state;
  return LETTERS.filter((letter) => state.includes(letter)).join('');
}

/** What a combination of letters means to @cm: deletion and error first, then what the job is doing. */
export function stateKind(state: string): JobStateKind {
  const has = (letter: string) => state.includes(letter);
  if (has('d')) return 'cancelled';
  if (has('E')) return 'error';
  if (has('s') || has('S') || has('T')) return 'suspended';
  if (has('r')) return 'running';
  if (has('t')) return 'starting';
  if (has('h')) return 'held';
  return 'queued';
}

const MEANINGS: readonly [string, string][] = [
  ['d', 'being deleted'],
  ['E', 'error state, see qstat -j'],
  ['S', 'queue suspended'],
  ['T', 'suspended by load threshold'],
  ['h', 'on hold'],
  ['R', 'restarted'],
  ['s', 'suspended'],
  ['t', 'being started'],
];

/** The letters in words, for progress lines (`hqw` → `on hold`, `qw` → `waiting to be scheduled`); undefined for `r`. */
export function stateReason(state: string): string | undefined {
  if (state === 'qw') return 'waiting to be scheduled';
  const words = MEANINGS.filter(([letter]) => state.includes(letter)).map(([, meaning]) => meaning);
  return words.length > 0 ? words.join(', ') : undefined;
}

/**
 * Every combination of state letters qstat can print (in its order), and what it means: the
 * driver's state table. Generated from the letters, so no combination is missing.
 */
export function stateTable(): Record<string, JobStateKind> {
  const table: Record<string, JobStateKind> = {};
  const count = 1 << LETTERS.length;
  for (let mask = 1; mask < count; mask++) {
    const state = LETTERS.filter((_, i) => mask & (1 << i)).join('');
    table[state] = stateKind(state);
  }
  return table;
}

/**
 * The error reason of `qstat -j ID` (an `Eqw` job), without its date and process:
 * `error reason    1:   11/30/2026 13:02:00 [0:14917]: error: can't chdir to /x: No such file or directory`
 * → `error: can't chdir to /x: No such file or directory`.
 */
export function parseErrorReason({ stdout }: CommandOutput): string | undefined {
  const reasons = [...stdout.matchAll(/^error reason\s+[\d,-]*:\s*(.*)$/gm)].map((match) => match[1]!.replace(/^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d \[[^\]]*\]:\s*/, '').trim());
  const distinct = [...new Set(reasons.filter(Boolean))];
  return distinct.length > 0 ? distinct.join('; ') : undefined;
}
