import config from '@cm/tooling/eslint';

// The shared config lints with type information; this file and the plain-JS test fixtures
// are in no tsconfig, so skip them
// (drop this once @cm/tooling sets `allowDefaultProject` for them).
export default [...config, { ignores: ['eslint.config.js', 'test/fixtures/**'] }];
