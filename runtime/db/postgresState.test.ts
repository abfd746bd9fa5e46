import { sql } from 'kysely';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createTestSchema, databaseUrl, skipPostgres, unreachableUrl, urlWithUser } from '../../test/connectors/support/postgres';
import { openStateDb, type StateDb } from './index';
import { saveCursor, loadCursor } from './cursorQueries';

async function schema(): Promise<string> {
  const created = await createTestSchema('syncline_state');
  onTestFinished(() => created.drop());
  return created.name;
}

async function openIn(name: string, url = databaseUrl): Promise<StateDb> {
  const db = await openStateDb(url, { schema: name });
  onTestFinished(() => db.destroy());
  return db;
}

const migrationNames = async (db: StateDb) => (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((row) => row.name);

describe.skipIf(skipPostgres())('the state on PostgreSQL', () => {
  it('keeps each schema’s state and migration history to itself, the same history a SQLite file gets', async () => {
    const first = await openIn(await schema());
    await saveCursor(first, 'f', 'a', { since: 1, seen: [] }, 't');
    // Opened after the first schema has its migration table: the second must still get one of its own.
    const second = await openIn(await schema());
    expect(await loadCursor(second, 'f', 'a')).toEqual({ since: null, seen: [] });
    expect(await loadCursor(first, 'f', 'a')).toEqual({ since: 1, seen: [] });

    const file = await openStateDb(':memory:');
    onTestFinished(() => file.destroy());
    expect(await migrationNames(first)).toEqual(await migrationNames(file));
    expect(await migrationNames(second)).toEqual(await migrationNames(file));
  });

  it('opens a state again without migrating it twice, and keeps what it held', async () => {
    const name = await schema();
    const db = await openIn(name);
    await saveCursor(db, 'f', 'a', { since: 'v1', seen: ['x'] }, 't');
    await db.destroy();
    const again = await openIn(name);
    expect(await loadCursor(again, 'f', 'a')).toEqual({ since: 'v1', seen: ['x'] });
  });

  it('creates text columns that compare bytewise, whatever the database’s own collation', async () => {
    const name = await schema();
    const db = await openIn(name);
    const { rows } = await sql<{ table_name: string; column_name: string; collation_name: string | null }>`
      select table_name, column_name, collation_name from information_schema.columns
      where table_schema = ${name} and data_type = 'text'`.execute(db);
    expect(rows.length).toBeGreaterThan(60);
    expect(rows.filter((row) => row.collation_name !== 'C')).toEqual([]);
  });

  it('sets the schema beside options the URL gives, in UTC sessions', async () => {
    const name = await schema();
    const url = new URL(databaseUrl);
    url.searchParams.set('options', '-c statement_timeout=4321');
    const db = await openIn(name, url.toString());
    const { rows } = await sql<{ schema: string; timeout: string; zone: string }>`
      select current_schema() as schema, current_setting('statement_timeout') as timeout, current_setting('TimeZone') as zone`.execute(db);
    expect(rows[0]).toEqual({ schema: name, timeout: '4321ms', zone: 'UTC' });
  });

  it("takes the schema from the URL's schema parameter, over a search_path the URL's options set", async () => {
    const name = await schema();
    const url = new URL(databaseUrl);
    url.searchParams.set('schema', name);
    url.searchParams.set('options', '-c search_path=public -c statement_timeout=4321');
    const db = await openStateDb(url.toString());
    onTestFinished(() => db.destroy());
    const { rows } = await sql<{ schema: string; timeout: string }>`select current_schema() as schema, current_setting('statement_timeout') as timeout`.execute(db);
    expect(rows[0]).toEqual({ schema: name, timeout: '4321ms' });
    url.searchParams.set('schema', 'Not A Name');
    await expect(openStateDb(url.toString())).rejects.toThrow(/schema "Not A Name" must be lower-case letters/);
  });

  it('says which schema is missing, which name it refuses, and which server it cannot reach, never a password', async () => {
    await expect(openStateDb(databaseUrl, { schema: 'syncline_state_nowhere' })).rejects.toThrow(/schema "syncline_state_nowhere" does not exist: create it first/);
    await expect(openStateDb(databaseUrl, { schema: 'Robert"; drop' })).rejects.toThrow(/schema "Robert"; drop" must be lower-case letters/);
    const unreachable = new URL(unreachableUrl(9));
    unreachable.password = 'hunter2';
    const refused = openStateDb(unreachable.toString(), { schema: 'public' });
    await expect(refused).rejects.toThrow(/^PostgreSQL state postgres:\/\/[^@]+@127\.0\.0\.1:9\/\w+: .*ECONNREFUSED/);
    await expect(refused).rejects.not.toThrow(/hunter2/);
    await expect(openStateDb(urlWithUser('nobody_here'), { schema: 'public' })).rejects.toThrow(/nobody_here/);
  });
});
