import { packageTestConfig } from '@cm/tooling/vitest';

export default packageTestConfig();
