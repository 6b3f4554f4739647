import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecret } from '../src/secret-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cm-elastic-secret-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadOrCreateSecret', () => {
  it('creates a private file with a fresh secret, then returns the same secret', async () => {
    const file = path.join(dir, 'nested', 'elastic.secret');
    const secret = await loadOrCreateSecret(file);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8').trim()).toBe(secret);
    expect(await loadOrCreateSecret(file)).toBe(secret);
  });

  it('refuses a file others can read', async () => {
    const file = path.join(dir, 'open.secret');
    writeFileSync(file, 'x'.repeat(64));
    chmodSync(file, 0o644);
    await expect(loadOrCreateSecret(file)).rejects.toThrow(/can be read by others \(mode 644\); run `chmod 600/);
  });

  it('refuses a file that holds no real secret', async () => {
    const file = path.join(dir, 'short.secret');
    writeFileSync(file, 'abc\n', { mode: 0o600 });
    await expect(loadOrCreateSecret(file)).rejects.toThrow(/does not hold a secret of at least 32 random bytes/);
  });
});
