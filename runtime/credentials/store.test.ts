import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { migrateUpTo, migrateToLatest, openStateDb, wrapSqlite } from '../db/index';
import { encryptSecret } from './cipher';
import { CredentialStore, MissingCredentialError, needsRefresh } from './store';
import type { OAuth2Stored } from './types';

const key = randomBytes(32);

describe('CredentialStore', () => {
  it('stores each kind encrypted and resolves it as a connector needs it', async () => {
    const db = await openStateDb(':memory:');
    const store = new CredentialStore(db, key);
    expect(await store.create('gh', 'token', 'ghp_secret-token')).toEqual({ name: 'gh', type: 'token', createdAt: expect.any(String) });
    expect(await store.create('zd', 'basic', { username: 'agent@example.com/token', password: 'zendesk-api-token' })).toMatchObject({ name: 'zd', type: 'basic' });
    expect(await store.create('hook', 'webhook-secret', 'hook-secret-value')).toMatchObject({ type: 'webhook-secret' });

    expect(await store.resolveAuth('gh')).toEqual({ kind: 'bearer', token: 'ghp_secret-token' });
    expect(await store.resolveAuth('zd')).toEqual({ kind: 'basic', username: 'agent@example.com/token', password: 'zendesk-api-token' });
    expect(await store.resolveAuth('hook')).toEqual({ kind: 'bearer', token: 'hook-secret-value' });
    // The one-string resolver, which existing connectors use: the password for basic (the username is in the connection).
    expect(await store.resolve('zd')).toBe('zendesk-api-token');
    expect(await store.resolve('hook')).toBe('hook-secret-value');

    const rows = await db.selectFrom('credentials').selectAll().execute();
    for (const row of rows) expect(row.value_encrypted).not.toMatch(/secret|zendesk|agent/);
    expect(await store.list()).toEqual([
      { name: 'gh', type: 'token', createdAt: expect.any(String) },
      { name: 'hook', type: 'webhook-secret', createdAt: expect.any(String) },
      { name: 'zd', type: 'basic', createdAt: expect.any(String) },
    ]);
    expect(await store.create('gh', 'token', 'other')).toBeNull();
    await expect(store.create('bad', 'basic', { username: 'u' })).rejects.toThrow(/password/);
    await expect(store.resolve('nope')).rejects.toThrow(MissingCredentialError);
    await expect(store.resolve('nope')).rejects.toThrow(/syncline credentials add nope --type TYPE/);
    await db.destroy();
  });

  it('reads the key only when a value is encrypted or decrypted', async () => {
    const db = await openStateDb(':memory:');
    let reads = 0;
    const store = new CredentialStore(db, () => {
      reads += 1;
      throw new Error('no key here');
    });
    expect(await store.list()).toEqual([]);
    expect(await store.remove('x')).toBe(false);
    expect(reads).toBe(0);
    await expect(store.create('x', 'token', 'v')).rejects.toThrow('no key here');
    await db.destroy();
  });

  it('keeps values stored before credentials had kinds: each reads as a token under its label', async () => {
    const db = wrapSqlite(new Sqlite(':memory:'));
    await migrateUpTo(db, '2026_11_26_2000_flow_knowledge');
    // Before kinds, a type was a free label: even `basic` held a plain value.
    for (const [name, type, value] of [
      ['crm-db', 'postgres-url', 'postgres://app:pw@db/crm'],
      ['old-basic', 'basic', 'user:password'],
    ] as const) {
      await db.insertInto('credentials').values({ name, type, value_encrypted: encryptSecret(key, name, value), created_at: '2026-11-27T00:00:00.000Z' }).execute();
    }
    await migrateToLatest(db);
    const store = new CredentialStore(db, key);
    expect(await store.resolveAuth('crm-db')).toEqual({ kind: 'bearer', token: 'postgres://app:pw@db/crm' });
    expect(await store.resolve('old-basic')).toBe('user:password');
    expect((await store.list()).map((entry) => entry.type)).toEqual(['postgres-url', 'token']);
    await db.destroy();
  });
});

describe('needsRefresh', () => {
  const token = (obtainedAt: string, expiresAt: string | null): OAuth2Stored => ({
    grant: 'authorization_code',
    issuer: null,
    authorizationEndpoint: null,
    tokenEndpoint: 'https://auth.example.com/token',
    clientId: 'c',
    clientSecret: null,
    clientAuth: 'none',
    scopes: [],
    accessToken: 'a',
    refreshToken: 'r',
    expiresAt,
    obtainedAt,
  });

  it('refreshes five minutes before expiry, or at half the lifetime of a short-lived token, and never without an expiry', () => {
    const hour = token('2026-12-01T10:00:00.000Z', '2026-12-01T11:00:00.000Z');
    expect(needsRefresh(hour, new Date('2026-12-01T10:54:59.000Z'))).toBe(false);
    expect(needsRefresh(hour, new Date('2026-12-01T10:55:00.000Z'))).toBe(true);
    const minute = token('2026-12-01T10:00:00.000Z', '2026-12-01T10:01:00.000Z');
    expect(needsRefresh(minute, new Date('2026-12-01T10:00:29.000Z'))).toBe(false);
    expect(needsRefresh(minute, new Date('2026-12-01T10:00:30.000Z'))).toBe(true);
    expect(needsRefresh(token('2026-12-01T10:00:00.000Z', null), new Date('2030-01-01T00:00:00.000Z'))).toBe(false);
  });
});
