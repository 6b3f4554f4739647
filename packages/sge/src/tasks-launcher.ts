/**
 * The `tasks` layout's launcher: Grid Engine has no `srun`, so one parallel job (`-pe <pe> N`)
 * starts its workers itself, the way tightly integrated MPI does — one worker per slot group
 * listed in `$PE_HOSTFILE`, the first in the job script's own process tree, every other with
 * `qrsh -inherit` on its host (Grid Engine then accounts for it, and `qdel` ends it). Needs a
 * parallel environment with `control_slaves TRUE` when workers go to other hosts or share the
 * first one. Each worker learns its index from `CM_SGE_WORKER`.
 * @module
 */

/** The launcher script (bash): its arguments are the worker command. */
const SCRIPT = [
  'per=${CM_SGE_SLOTS_PER_WORKER:-1}',
  'qrsh=$(command -v qrsh || echo "$SGE_ROOT/bin/$SGE_ARCH/qrsh")',
  // qrsh -inherit starts in $HOME and flattens its arguments into one shell line: cd back, quote once.
  'line="cd $(printf %q "$PWD") && exec $(printf "%q " "$@")"',
  'i=0',
  'while read -r host slots _; do',
  '  for ((k = 0; k < slots / per; k++)); do',
  '    if ((i == 0)); then CM_SGE_WORKER=$i "$@" &',
  '    else CM_SGE_WORKER=$i "$qrsh" -inherit -nostdin -V "$host" "$line" &',
  '    fi',
  '    i=$((i + 1))',
  '  done',
  'done < "$PE_HOSTFILE"',
  'wait',
].join('\n');

/** Prefix of the worker command in a `tasks` job: `bash -c SCRIPT cm-sge-tasks <worker…>`. */
export const TASKS_LAUNCHER: readonly string[] = ['/bin/bash', '-c', SCRIPT, 'cm-sge-tasks'];
