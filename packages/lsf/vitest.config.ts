import { packageTestConfig } from '@cm/tooling/vitest';

// LSF tests run real worker processes under the LSF simulator (and a real sshd): give them longer.
export default packageTestConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
