import { packageTestConfig } from '@cm/tooling/vitest';

// The tests run real jobs through the HTCondor simulator (tooling/simulators): give them time.
export default packageTestConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
