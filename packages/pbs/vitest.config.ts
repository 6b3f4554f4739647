import { packageTestConfig } from '@cm/tooling/vitest';

// PBS tests run real jobs through the simulators and the Torque wrappers over Slurm: give them longer.
export default packageTestConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
