/**
 * The cluster secret in a file only its owner can read (mode 0600), which workers started
 * by hand read through `CM_SECRET_FILE`. The secret never appears on a command line, in
 * printed text or in a world-readable file.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@cm/core';

/** Bytes of a fresh secret, as core's Cluster makes them. */
const SECRET_BYTES = 32;

/**
 * Throw unless `file` is a regular file that only its owner may read or write (what
 * `cm-worker` also insists on).
 */
export function assertPrivateFile(file: string, mode: number, isFile: boolean): void {
  if (!isFile) throw new UsageError(`secret file ${file} is not a regular file`, 'secretFile');
  if (mode & 0o077) {
    throw new UsageError(`secret file ${file} can be read by others (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); run \`chmod 600 ${file}\``, 'secretFile');
  }
}

/** The secret in `file` (checked private), or undefined when the file does not exist. */
export function readSecretFileSync(file: string): string | undefined {
  let info;
  try {
    info = statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read secret file ${file}: ${(error as Error).message}`, 'secretFile');
  }
  assertPrivateFile(file, info.mode, info.isFile());
  return readFileSync(file, 'utf8').trim();
}

/**
 * Write `secret` to a new file with mode 0600 (its directory created 0700 when missing).
 * Fails if the file exists, so a secret someone else put there is never overwritten.
 */
export function writeSecretFileSync(file: string, secret: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
}

/** Delete a secret file we wrote; already gone is fine. */
export function removeSecretFileSync(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * A stable cluster secret kept in `file`: read it when the file exists (it must be mode
 * 0600), else create the file with a fresh random secret. Pass the result to
 * `new Cluster({ secret })` and the same path to `ElasticManager({ secretFile })`, so
 * workers that a site's own scripts start later — even after the master restarts — can
 * authenticate (the counterpart of Julia's `cookie`).
 *
 * @example
 * ```ts
 * const secretFile = path.join(os.homedir(), '.cm', 'elastic.secret');
 * await using cluster = new Cluster({ secret: await loadOrCreateSecret(secretFile) });
 * await cluster.addprocs(new ElasticManager({ addr: 'auto', port: 9009, secretFile }));
 * ```
 * @throws UsageError when the file is readable by others or does not hold a valid secret
 */
export async function loadOrCreateSecret(file: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
  assertPrivateFile(file, info.mode, info.isFile());
  const secret = (await readFile(file, 'utf8')).trim();
  if (Buffer.from(secret, 'base64url').length < SECRET_BYTES) {
    throw new UsageError(`secret file ${file} does not hold a secret of at least ${SECRET_BYTES} random bytes in base64url; delete it to have a fresh one made`, 'secretFile');
  }
  return secret;
}
