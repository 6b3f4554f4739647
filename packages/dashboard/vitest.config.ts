import { packageTestConfig } from '@cm/tooling/vitest';

// The browser test starts a cluster, a dashboard and Chromium on a two-core machine: give it room.
export default packageTestConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
