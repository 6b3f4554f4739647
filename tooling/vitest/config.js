// Shared vitest settings for every @cm package: `export default packageTestConfig()`.
import { defineConfig } from 'vitest/config';

/**
 * Integration tests start real worker processes (and real scheduler jobs) on a two-core
 * machine shared by everything, so files run one at a time with generous timeouts.
 * @param {{ testTimeout?: number, hookTimeout?: number }} [timeouts]
 */
export function packageTestConfig({ testTimeout = 30_000, hookTimeout = 30_000 } = {}) {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout,
      hookTimeout,
      fileParallelism: false,
    },
  });
}
