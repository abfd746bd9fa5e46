import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, loadOrCreateKey } from './cipher';

describe('credential cipher', () => {
  it('creates the key once, readable by the owner only', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'syncline-key-')), 'credentials.key');
    const key = loadOrCreateKey(file);
    expect(key).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKey(file).equals(key)).toBe(true);
  });

  it('refuses a damaged key rather than replacing it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'syncline-key-')), 'credentials.key');
    writeFileSync(file, 'c2hvcnQ=\n', { mode: 0o600 });
    expect(() => loadOrCreateKey(file)).toThrow(/32-byte/);
  });

  it('round-trips, uses a fresh IV each time, and binds the ciphertext to the name and key', () => {
    const key = Buffer.alloc(32, 7);
    const one = encryptSecret(key, 'crm', 's3cret');
    expect(encryptSecret(key, 'crm', 's3cret')).not.toBe(one);
    expect(decryptSecret(key, 'crm', one)).toBe('s3cret');
    expect(() => decryptSecret(key, 'other', one)).toThrow();
    expect(() => decryptSecret(Buffer.alloc(32, 8), 'crm', one)).toThrow();
  });
});
