import type { UserConfig } from 'vitest/config';

/** Shared vitest settings for @cm packages; see config.js. */
export declare function packageTestConfig(timeouts?: { testTimeout?: number; hookTimeout?: number }): UserConfig;
