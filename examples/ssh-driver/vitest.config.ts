import { defineConfig } from 'vitest/config';

// The tests start a real sshd and real workers over it: give them time.
export default defineConfig({ test: { testTimeout: 120_000, hookTimeout: 60_000 } });
