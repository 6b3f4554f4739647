// The packaging check (check.mjs) as part of `pnpm test`: this package depends on every
// publishable one, so turbo has built them all before it runs.
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, it } from 'vitest';

it('packs, installs from the tarballs outside the workspace, runs, typechecks, and versions a core minor without driver bumps', async () => {
  const result = await execa(process.execPath, [fileURLToPath(new URL('./check.mjs', import.meta.url))], { reject: false, timeout: 280_000 });
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/^packaging: ok; versions after a core minor: .*@cm\/core 0\.\d+\.0/m);
  expect(result.exitCode).toBe(0);
}, 300_000);
