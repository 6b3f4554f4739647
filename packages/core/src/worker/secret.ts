/**
 * The worker's reading of the cluster secret: it must be what a master makes (base64url of at
 * least 32 random bytes), so a truncated, mistyped or hand-made weak secret is refused with a
 * clear message before the worker dials anyone.
 * @module
 */

/** Bytes of secret a @cm master holds at least (docs/protocol.md, section 4). */
export const MIN_SECRET_BYTES = 32;

/** Decode `text` (from `source`, for the message) or throw an Error saying what is wrong with it. */
export function decodeSecret(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(trimmed)) {
    throw new Error(`${source} is not base64url (it has characters outside A-Z a-z 0-9 - _); give the secret the master made, unchanged`);
  }
  const secret = Buffer.from(trimmed, 'base64url');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new Error(
      `${source} holds a ${secret.length}-byte secret; a @cm secret has at least ${MIN_SECRET_BYTES} random bytes ` +
        '(a shorter one is weak, or was cut off): give the secret the master made, e.g. crypto.randomBytes(32).toString("base64url")',
    );
  }
  return secret;
}
