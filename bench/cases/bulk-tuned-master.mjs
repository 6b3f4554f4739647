// The bulk case again, in a master process started with the same glibc setting @cm gives its
// workers (freed memory kept for reuse), to show what bounds the default figure: the first
// touch of a fresh 64 MiB buffer on the receiving side, not the protocol.
import { execa } from 'execa';

const here = new URL('.', import.meta.url).pathname;

export async function bulkTunedMaster() {
  const script = `import { bulk } from '${here}bulk.mjs'; console.log(JSON.stringify(await bulk({ label: 'bulk data, tuned master' })));`;
  const run = await execa(process.execPath, ['--input-type=module', '-e', script], {
    env: { MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 30) },
    cwd: here,
    timeout: 120_000,
  });
  return JSON.parse(run.stdout.trim().split('\n').pop()).map((row) => ({ ...row, target: 'informational', pass: undefined }));
}
