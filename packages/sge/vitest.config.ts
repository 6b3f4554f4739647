import { packageTestConfig } from '@cm/tooling/vitest';

// Grid Engine tests submit real jobs to the single-node Grid Engine: give them longer.
export default packageTestConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
