import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateKey } from '../credentials/cipher';
import { CredentialStore } from '../credentials/store';
import { openStateDb } from '../db/index';
import { chooseState, credentialKeyFile, describeState, resolveState, stateInPostgres } from './stateOption';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function dataFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'syncline-state-option-'));
  folders.push(folder);
  return folder;
}

/** A data folder whose own store (state.db, credentials.key) holds `credentials` as token credentials. */
async function storeIn(folder: string, credentials: Record<string, string>): Promise<void> {
  const db = await openStateDb(join(folder, 'state.db'));
  try {
    const store = new CredentialStore(db, loadOrCreateKey(join(folder, 'credentials.key')));
    for (const [name, value] of Object.entries(credentials)) await store.create(name, 'token', value);
  } finally {
    await db.destroy();
  }
}

const STATE_URL = 'postgres://syncline:s3cret@db1.internal:5432/syncline?schema=sync';

describe('the state a command opens', () => {
  it('takes --state, else SYNCLINE_STATE_URL, else the default file; a URL or a credential reference as written', () => {
    expect(chooseState('x.db', { SYNCLINE_STATE_URL: STATE_URL }, 'default.db')).toBe(resolve('x.db'));
    expect(chooseState(null, { SYNCLINE_STATE_URL: ` ${STATE_URL} ` }, 'default.db')).toBe(STATE_URL);
    expect(chooseState(null, { SYNCLINE_STATE_URL: 'credential:state-db' }, 'default.db')).toBe('credential:state-db');
    expect(chooseState('credential:state-db', {}, null)).toBe('credential:state-db');
    expect(chooseState(null, {}, null)).toBeNull();
    expect(stateInPostgres('credential:state-db')).toBe(true);
    expect(stateInPostgres(resolve('credential.db'))).toBe(false);
    expect(credentialKeyFile('credential:state-db', null)).toBe(resolve('.syncline', 'credentials.key'));
    expect(describeState(STATE_URL)).toBe('postgres://syncline@db1.internal:5432/syncline?schema=sync');
  });

  it('reads credential:NAME from the data folder’s own store, and keeps a file or a URL as it is', async () => {
    const folder = dataFolder();
    await storeIn(folder, { 'state-db': STATE_URL });
    expect(await resolveState('credential:state-db', folder)).toBe(STATE_URL);
    expect(await resolveState(STATE_URL, folder)).toBe(STATE_URL);
    expect(await resolveState('/srv/state.db', folder)).toBe('/srv/state.db');
  });

  it('says what is missing and how to store it, creating nothing, and never shows the value', async () => {
    const empty = dataFolder();
    await expect(resolveState('credential:state-db', empty)).rejects.toThrow(
      `--state credential:state-db: no credential store at ${join(empty, 'state.db')} (the data folder's own state); store it with: printf %s 'postgres://USER:PASSWORD@HOST:5432/DB?schema=NAME' | syncline credentials add state-db --type token --state ${join(empty, 'state.db')}`,
    );
    expect(existsSync(join(empty, 'state.db'))).toBe(false);

    const folder = dataFolder();
    await storeIn(folder, { 'state-db': STATE_URL, 'api-token': 'not a url s3cret' });
    await expect(resolveState('credential:other', folder)).rejects.toThrow(/^--state credential:other: no credential "other" in .*state\.db; store it with: .* syncline credentials add other --type token/);
    const notUrl = resolveState('credential:api-token', folder);
    await expect(notUrl).rejects.toThrow(/^--state credential:api-token: credential "api-token" in .*state\.db must hold a postgres:\/\/ URL/);
    await expect(notUrl).rejects.not.toThrow(/s3cret/);
    await expect(resolveState('credential:', folder)).rejects.toThrow(/^--state credential: names no credential: write credential:NAME/);
  });

  it('refuses a store whose key is missing rather than making a new key', async () => {
    const folder = dataFolder();
    await storeIn(folder, { 'state-db': STATE_URL });
    rmSync(join(folder, 'credentials.key'));
    await expect(resolveState('credential:state-db', folder)).rejects.toThrow(/no credential key at .*credentials\.key/);
    expect(existsSync(join(folder, 'credentials.key'))).toBe(false);
  });
});
