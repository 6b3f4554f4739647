import { packageTestConfig } from '@cm/tooling/vitest';

// The tests start real workers through the Scyld simulator (tooling/simulators): give them time.
export default packageTestConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
