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
      {
        name: 'leads',
        fields: [{ name: 'id', type: 'INTEGER', nullable: true }, { name: 'email', type: 'TEXT', nullable: false }, { name: 'amount', type: 'REAL', nullable: true }],
        warnings: [expect.stringMatching(/^table "leads": its key "id" is an INTEGER PRIMARY KEY without AUTOINCREMENT/)],
      },
      { name: 'notes', fields: [{ name: 'id', type: 'TEXT', nullable: true }, { name: 'body', type: 'any', nullable: true }] },
    ]);
  });

  it('warns of a table whose rowid SQLite hands out again (INTEGER PRIMARY KEY without AUTOINCREMENT), saying what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-describe-'));
    const db = new Database(join(dir, 'crm.db'));
    db.exec(`create table reused ("person id" integer primary key, name text);
             create table safe (id INTEGER PRIMARY KEY AUTOINCREMENT, name text);
             create table spaced (id integer primary key
               autoincrement, name text);
             create table named ("autoincrement" text, id integer primary key, note text default 'AUTOINCREMENT' /* autoincrement */);
             create table keyed (id text primary key, n integer) without rowid;
             create table composite (a integer, b integer, primary key (a, b));
             create table typed (id int primary key, name text);`);
    // Shown reused, as a person would see it: the last row deleted, its id given to the next one.
    db.exec("insert into reused (name) values ('Ada'), ('Grace'); delete from reused where name = 'Grace'");
    expect(db.prepare("insert into reused (name) values ('Barbara')").run().lastInsertRowid).toBe(2);
    db.close();
    const collections = await sqliteConnector.describeConnection({ connection: { file: 'crm.db' }, baseDir: dir, resolveCredential: noCredentials, access: folderAccess(dir) });
    const warned = Object.fromEntries(collections.map((table) => [table.name, table.warnings ?? []]));
    expect(warned).toEqual({ reused: [expect.any(String)], safe: [], spaced: [], named: [expect.any(String)], keyed: [], composite: [], typed: [] });
    expect(warned.reused![0]).toBe(
      'table "reused": its key "person id" is an INTEGER PRIMARY KEY without AUTOINCREMENT, so SQLite gives the id of a deleted last row to the next row inserted; ' +
        'a sync keyed on it takes that row for the deleted record and overwrites the record linked to it in the other systems. ' +
        'Declare the column "person id INTEGER PRIMARY KEY AUTOINCREMENT" (SQLite cannot add it to an existing table: create the table anew and copy the rows over), ' +
        'or key the trigger on a column the application never reuses, such as a UUID',
    );
  });

  it('says which file is missing instead of creating an empty database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-describe-'));
    await expect(sqliteConnector.describeConnection({ connection: { file: 'nope.db' }, baseDir: dir, resolveCredential: noCredentials, access: folderAccess(dir) })).rejects.toThrow(/not found: .*nope\.db/);
  });
});
