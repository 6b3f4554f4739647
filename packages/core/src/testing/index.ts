/**
 * `@cm/core/testing`: what driver authors test with — the shared conformance suite, a
 * simulated batch scheduler (simq) with its drivers in every shape a real scheduler has, and
 * queue checks.
 * @packageDocumentation
 */
export { describeBatchDriver, type BatchDriverConformance, type TestApi } from './conformance.js';
export { liveJobs, waitUntilGone } from './queue.js';
export { cmDriver } from './cm-driver.js';
export {
  SimulatedQueueManager,
  simulatedDriver,
  simulatedOneBasedDriver,
  simulatedStdinDriver,
  simulatedSubmitFileDriver,
  simulatedProcessDriver,
  simulatedOptionsSchema,
  simulatedSettingsSchema,
  SIMQ_FLAG_NAMES,
  SIMQ_VARIANTS,
  simqPath,
  type SimulatedOptions,
} from './simulated.js';
