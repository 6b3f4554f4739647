/**
 * The lsf simulator of tooling/simulators for this package's tests, through the harness
 * every driver shares (@cm/tooling/simulators/harness): first on this process's PATH for a
 * test file, taken away again with every process it started.
 */
import { useSimulator as useKind } from '@cm/tooling/simulators/harness';

export { eventually, filesUnder, type Simulator } from '@cm/tooling/simulators/harness';

/** Start the lsf simulator and point this process's environment at it; `stop()` restores it and kills what it ran. */
export const useSimulator = (options: Record<string, unknown> = {}) => useKind('lsf', options);
