import Sqlite from 'better-sqlite3';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStateDb, wrapSqlite } from './index';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('a state file as the runtime opens it', () => {
  it('is migrated, in WAL with NORMAL syncing, and keeps statement journals in memory', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-state-open-'));
    folders.push(folder);
    const db = await openStateDb(join(folder, 'state.db'));
    try {
      const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as Record<string, unknown>)[0];
      // journal_mode wal; synchronous 1 = NORMAL; temp_store 2 = MEMORY (set after the migrations: index.ts).
      expect([await pragma('journal_mode'), await pragma('synchronous'), await pragma('temp_store')]).toEqual(['wal', 1, 2]);
      expect((await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.length).toBeGreaterThan(0);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a database with tables of its own, or a file that is no database, leaving it as it was', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-state-open-'));
    folders.push(folder);
    const theirs = join(folder, 'crm.db');
    const own = new Sqlite(theirs);
    own.pragma('journal_mode = truncate');
    own.exec("create table leads (id integer primary key, email text); insert into leads (email) values ('ada@example.com')");
    own.close();
    const notes = join(folder, 'notes.db');
    writeFileSync(notes, 'not a database, though named like one\n');
    const look = () => ({ files: readdirSync(folder).sort(), bytes: [readFileSync(theirs), readFileSync(notes)], modes: [statSync(theirs).mode, statSync(notes).mode] });
    const before = look();

    await expect(openStateDb(theirs)).rejects.toThrow(`${theirs} holds tables of its own (leads) and is not a Syncline state: pick another --state`);
    await expect(openStateDb(notes)).rejects.toThrow(`cannot read the state ${notes}: SqliteError: file is not a database`);
    expect(look()).toEqual(before);
  });

  it('opens an empty file as a new state, and a state file again', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-state-open-'));
    folders.push(folder);
    const file = join(folder, 'state.db');
    writeFileSync(file, '', { mode: 0o600 });
    for (let opening = 0; opening < 2; opening++) {
      const db = await openStateDb(file);
      expect((await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.length).toBeGreaterThan(0);
      await db.destroy();
    }
  });

  it('names no migration when none failed, only the database that could not be read', async () => {
    // An image of a WAL file kept its WAL mark, which SQLite cannot open in memory (what a dry run's copy must undo).
    const source = new Sqlite(':memory:');
    source.exec('create table t (x)');
    const image = source.serialize();
    source.close();
    image[18] = 2;
    image[19] = 2;
    const db = wrapSqlite(new Sqlite(image));
    try {
      await expect(migrateToLatest(db)).rejects.toThrow(/^state migration failed: SqliteError: unable to open database file$/);
    } finally {
      await db.destroy();
    }
  });
});
