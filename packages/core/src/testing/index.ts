/**
 * `@cm/core/testing`: what driver authors test with — the shared conformance suite, a
 * simulated batch scheduler (simq) with its driver, and queue checks.
 * @packageDocumentation
 */
export { describeBatchDriver, type BatchDriverConformance, type TestApi } from './conformance.js';
export { liveJobs, waitUntilGone } from './queue.js';
export { SimulatedQueueManager, simulatedDriver, simulatedOptionsSchema, simqPath, type SimulatedOptions } from './simulated.js';
