export { default } from '@cm/tooling/eslint';
