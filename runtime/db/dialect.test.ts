import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { describe, expect, it, onTestFinished } from 'vitest';
import { stateDatabases } from '../../test/support/stateDatabases';
import { oneOf } from './bulk';
import { jsonObjectEntries } from './dialect';
import { migrateUpTo, wrapSqlite } from './index';

const link = (recordId: string) => ({ flow_id: 'f', node_id: 'a', record_id: recordId, entity_id: `e-${recordId}`, deleted: 0 });

describe.each(stateDatabases)('the state’s SQL on $name', ({ open }) => {
  it('orders and compares text by code unit, as the engine does in memory, whatever the database’s collation', async () => {
    const db = await open();
    // A language's collation puts `a` before `B`, ignores `-` and `_` at first, and orders `é` beside `e`.
    const ids = ['b', 'B', 'a', 'A', '_x', '-1', '10', '9', 'é', 'e', 'z', 'Z', '~', ' '];
    await db.insertInto('links').values(ids.map(link)).execute();
    const ordered = await db.selectFrom('links').select('record_id').orderBy('record_id').execute();
    expect(ordered.map((row) => row.record_id)).toEqual([...ids].sort());
    const after = await db.selectFrom('links').select('record_id').where('record_id', '>', 'Z').orderBy('record_id').execute();
    expect(after.map((row) => row.record_id)).toEqual([...ids].sort().filter((id) => id > 'Z'));
  });

  it('matches a column against a list bound as one value: text, numbers, and an empty list', async () => {
    const db = await open();
    await db.insertInto('links').values(['1', '2', "it's", 'a"b', 'back\\slash', 'comma,brace}'].map(link)).execute();
    const found = async (ids: string[]) =>
      (await db.selectFrom('links').select('record_id').where('record_id', 'in', oneOf(ids)).orderBy('record_id').execute()).map((row) => row.record_id);
    expect(await found(['2', "it's", 'a"b', 'back\\slash', 'comma,brace}', 'missing'])).toEqual(['2', 'a"b', 'back\\slash', 'comma,brace}', "it's"]);
    expect(await found([])).toEqual([]);

    await db.insertInto('flow_versions').values([1, 2, 3].map((version) => ({ flow_id: 'f', version, document: '{}', deployed_at: 'x' }))).execute();
    const versions = await db.selectFrom('flow_versions').select('version').where('version', 'in', oneOf([1, 3, 7])).orderBy('version').execute();
    expect(versions.map((row) => row.version)).toEqual([1, 3]);
    expect(await db.selectFrom('flow_versions').select('version').where('version', 'in', oneOf<number>([])).execute()).toEqual([]);
  });

  it('reads the keys of a JSON object held as text, and counts as numbers', async () => {
    const db = await open();
    const sides = JSON.stringify({ crm: 'Ada', 'mkt-2': { nested: true }, 'ünï': null });
    await db
      .insertInto('conflicts')
      .values({ id: 'c1', flow_id: 'f', entity_id: null, kind: 'field', field: 'name', base: null, sides, status: 'open', resolution: null, created_at: 'x', resolved_at: null })
      .execute();
    const keys = await sql<{ key: string }>`select side.key from conflicts, ${jsonObjectEntries(db, sql.ref<string>('conflicts.sides'))} as side order by side.key`.execute(db);
    expect(keys.rows.map((row) => row.key)).toEqual(['crm', 'mkt-2', 'ünï']);
    expect(await db.selectFrom('conflicts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 1 });
  });
});

describe('the migrations written before PostgreSQL, on SQLite', () => {
  it('make exactly the tables, indexes and history that a state file made by that release has', async () => {
    const released = new Sqlite(new URL('../../test/fixtures/state-2026-12-04/state.db', import.meta.url).pathname, { readonly: true });
    const fresh = new Sqlite(':memory:');
    const db = wrapSqlite(fresh);
    onTestFinished(async () => {
      released.close();
      await db.destroy();
    });
    await migrateUpTo(db, '2026_12_04_1000_field_provenance');
    const schema = (file: Sqlite.Database) => file.prepare('select type, name, tbl_name, sql from sqlite_master order by type, name').all();
    const history = (file: Sqlite.Database) => file.prepare('select name from kysely_migration order by name').all();
    expect(schema(fresh)).toEqual(schema(released));
    expect(history(fresh)).toEqual(history(released));
  });
});
