import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderAccess } from '../access';
import { sqliteConnector } from './index';

const noCredentials = async (name: string) => Promise.reject(new Error(`no credential ${name}`));

describe('sqlite describeConnection', () => {
  it('lists every table and its columns without opening a collection, read-only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-describe-'));
    const db = new Database(join(dir, 'crm.db'));
    db.exec('create table leads (id integer primary key, email text not null, amount real); create table notes (id text, body)');
    db.close();
    const collections = await sqliteConnector.describeConnection({ connection: { file: 'crm.db' }, baseDir: dir, resolveCredential: noCredentials, access: folderAccess(dir) });
    expect(collections).toEqual([
      { name: 'leads', fields: [{ name: 'id', type: 'INTEGER', nullable: true }, { name: 'email', type: 'TEXT', nullable: false }, { name: 'amount', type: 'REAL', nullable: true }] },
      { name: 'notes', fields: [{ name: 'id', type: 'TEXT', nullable: true }, { name: 'body', type: 'any', nullable: true }] },
    ]);
  });

  it('says which file is missing instead of creating an empty database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-describe-'));
    await expect(sqliteConnector.describeConnection({ connection: { file: 'nope.db' }, baseDir: dir, resolveCredential: noCredentials, access: folderAccess(dir) })).rejects.toThrow(/not found: .*nope\.db/);
  });
});
