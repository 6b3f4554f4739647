import { packageTestConfig } from '@cm/tooling/vitest';

// Slurm tests submit real jobs to the single-node Slurm: give them longer.
export default packageTestConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
