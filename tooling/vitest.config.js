// Tests of the scheduler simulators (tooling/simulators/test), with the shared @cm settings.
import { packageTestConfig } from './vitest/config.js';

const config = packageTestConfig({ testTimeout: 60_000, hookTimeout: 30_000 });
export default { ...config, test: { ...config.test, include: ['simulators/test/**/*.test.ts'] } };
