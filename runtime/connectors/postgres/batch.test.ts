import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../../../test/connectors/support/postgres';
import { testAccess } from '../../../test/support/access';
import type { Connector, WriteOp, WriteResult } from '../types';
import { postgresConnector } from './index';

// A page of writes goes to PostgreSQL as a few statements, each row still held to the version it was read at. A
// statement-level trigger counts the statements the table sees, so the tests can tell batching from a loop.

describe.skipIf(skipPostgres())('postgres writes a page in few statements', () => {
  let schema: TestSchema;
  let connector: Connector;
  const table = () => `"${schema.name}"."people"`;
  const statements = async () => Number((await schema.query<{ n: string }>(`SELECT n FROM "${schema.name}".statements`))[0]?.n);
  const tag = 'syncline:batch:0001';

  beforeEach(async () => {
    schema = await createTestSchema();
    await schema.query(`CREATE TABLE ${table()} (id serial PRIMARY KEY, email text UNIQUE, name text, score int CHECK (score >= 0), updated_at timestamptz, sync_tag text)`);
    await schema.query(`CREATE TABLE "${schema.name}".statements (n bigint NOT NULL)`);
    await schema.query(`INSERT INTO "${schema.name}".statements VALUES (0)`);
    await schema.query(`CREATE FUNCTION "${schema.name}".count_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE "${schema.name}".statements SET n = n + 1; RETURN NULL; END $$`);
    await schema.query(`CREATE TRIGGER count_statements AFTER INSERT OR UPDATE OR DELETE ON ${table()} FOR EACH STATEMENT EXECUTE FUNCTION "${schema.name}".count_statement()`);
    connector = await postgresConnector.open({
      config: triggerConfigSchema.parse({ connector: 'postgres', connection: { url: databaseUrl }, collection: `${schema.name}.people`, key: 'id', updatedAt: 'updated_at', tagColumn: 'sync_tag' }),
      baseDir: '/',
      access: testAccess(),
      resolveCredential: async () => databaseUrl,
    });
  });

  afterEach(async () => {
    await connector.close();
    await schema.drop();
  });

  const person = (index: number) => ({ email: `p${index}@example.com`, name: `Person ${index}`, score: index });
  const created = async (count: number) => {
    const results = await connector.write(Array.from({ length: count }, (_unused, index): WriteOp => ({ kind: 'create', fields: person(index), tag })));
    return results.map((result) => (result.ok ? { id: result.id, version: result.version } : expect.fail(JSON.stringify(result))));
  };

  it('creates 1,200 rows in three INSERTs, each result naming the row made from its op', async () => {
    const rows = await created(1200);
    expect(await statements()).toBe(3);
    const stored = new Map((await schema.query<{ id: number; email: string }>(`SELECT id, email FROM ${table()}`)).map((row) => [String(row.id), row.email]));
    expect(rows.map((row) => stored.get(row.id))).toEqual(Array.from({ length: 1200 }, (_unused, index) => `p${index}@example.com`));
  });

  it('creates 1,200 rows under their given keys in three INSERTs; a key held already comes back taken, its row untouched', async () => {
    await schema.query(`INSERT INTO ${table()} (id, email, name) VALUES (500, 'held@example.com', 'Holder')`);
    const before = await statements();
    const results = await connector.write(Array.from({ length: 1200 }, (_unused, index): WriteOp => ({ kind: 'create', fields: person(index), tag, id: String(index + 1) })));
    expect(await statements()).toBe(before + 3);
    expect(results[499]).toEqual({ ok: false, reason: 'taken' });
    expect(results.filter((result) => result.ok).map((result) => (result as { id: string }).id)).toEqual(Array.from({ length: 1200 }, (_unused, index) => String(index + 1)).filter((id) => id !== '500'));
    const stored = new Map((await schema.query<{ id: number; email: string }>(`SELECT id, email FROM ${table()}`)).map((row) => [String(row.id), row.email]));
    expect(stored.get('500')).toBe('held@example.com');
    expect(stored.get('1200')).toBe('p1199@example.com');
    expect(stored.size).toBe(1200);
  });

  it('reports the second of two creates given one key as taken, in the one INSERT of the page', async () => {
    const before = await statements();
    const results = await connector.write([
      { kind: 'create', fields: person(1), tag, id: '7' },
      { kind: 'create', fields: person(2), tag, id: '7' },
      { kind: 'create', fields: person(3), tag, id: '8' },
    ]);
    expect(results.map((result) => (result.ok ? result.id : result.reason))).toEqual(['7', 'taken', '8']);
    expect(await statements()).toBe(before + 1);
    expect(await schema.query(`SELECT id, email FROM ${table()} ORDER BY id`)).toEqual([
      { id: 7, email: 'p1@example.com' },
      { id: 8, email: 'p3@example.com' },
    ]);
  });

  it('reports a key another session inserts while the page is written as taken, never failing the page', async () => {
    // The other session holds key 21 uncommitted: the INSERT waits on it, and once it commits leaves that row out.
    await schema.client.query('BEGIN');
    await schema.client.query(`INSERT INTO ${table()} (id, email, name) VALUES (21, 'other@example.com', 'Other session')`);
    const writing = connector.write([20, 21, 22].map((id, index): WriteOp => ({ kind: 'create', fields: person(index), tag, id: String(id) })));
    const watcher = new pg.Client({ connectionString: databaseUrl });
    await watcher.connect();
    try {
      await vi.waitFor(
        async () => {
          const { rows } = await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%people%'`);
          expect(rows).toHaveLength(1);
        },
        { timeout: 60_000, interval: 20 },
      );
    } finally {
      await watcher.end();
      await schema.client.query('COMMIT');
    }
    const results = await writing;
    expect(results.map((result) => (result.ok ? result.id : result.reason))).toEqual(['20', 'taken', '22']);
    expect((await schema.query<{ name: string }>(`SELECT name FROM ${table()} WHERE id = 21`))[0]?.name).toBe('Other session');
  });

  it('creates under given keys where the key has no unique index, a held key still taken', async () => {
    await schema.query(`CREATE TABLE "${schema.name}".loose (id int NOT NULL, email text, updated_at timestamptz)`);
    await schema.query(`INSERT INTO "${schema.name}".loose (id, email) VALUES (2, 'held@example.com')`);
    const loose = await postgresConnector.open({
      config: triggerConfigSchema.parse({ connector: 'postgres', connection: { url: databaseUrl }, collection: `${schema.name}.loose`, key: 'id', updatedAt: 'updated_at' }),
      baseDir: '/',
      access: testAccess(),
      resolveCredential: async () => databaseUrl,
    });
    try {
      const results = await loose.write([1, 2, 3].map((id): WriteOp => ({ kind: 'create', fields: { email: `p${id}@example.com` }, tag, id: String(id) })));
      expect(results.map((result) => (result.ok ? result.id : result.reason))).toEqual(['1', 'taken', '3']);
      expect(await schema.query(`SELECT id, email FROM "${schema.name}".loose ORDER BY id`)).toEqual([
        { id: 1, email: 'p1@example.com' },
        { id: 2, email: 'held@example.com' },
        { id: 3, email: 'p3@example.com' },
      ]);
    } finally {
      await loose.close();
    }
  });

  it('updates in one statement, and reports a row changed since it was read as changed, never overwriting it', async () => {
    const rows = await created(3);
    // Another user edits the second row after the runtime read it.
    await schema.query(`UPDATE ${table()} SET name = 'Edited elsewhere', updated_at = clock_timestamp() WHERE id = $1`, [rows[1]!.id]);
    const before = await statements();
    const results = await connector.write(rows.map((row, index): WriteOp => ({ kind: 'update', id: row.id, fields: { name: `Renamed ${index}` }, tag, expectedVersion: row.version })));
    expect(results.map((result) => (result.ok ? 'ok' : result.reason))).toEqual(['ok', 'changed', 'ok']);
    expect(await statements()).toBe(before + 1);
    expect((await schema.query<{ name: string }>(`SELECT name FROM ${table()} ORDER BY id`)).map((row) => row.name)).toEqual(['Renamed 0', 'Edited elsewhere', 'Renamed 2']);
  });

  it('writes each op alone when one row fails the statement, so only that op fails', async () => {
    await created(1);
    const ops: WriteOp[] = [
      { kind: 'create', fields: { email: 'a@example.com', name: 'A', score: 1 }, tag },
      { kind: 'create', fields: { email: 'p0@example.com', name: 'Taken email', score: 2 }, tag },
      { kind: 'create', fields: { email: 'b@example.com', name: 'B', score: -5 }, tag },
      { kind: 'create', fields: { email: 'c@example.com', name: 'C', score: 3 }, tag },
    ];
    const results = await connector.write(ops);
    expect(results.map((result) => (result.ok ? 'ok' : result.reason))).toEqual(['ok', 'failed', 'failed', 'ok']);
    expect((results[1] as Extract<WriteResult, { reason: 'failed' }>).message).toMatch(/unique|duplicate/i);
    expect((await schema.query<{ email: string }>(`SELECT email FROM ${table()} ORDER BY id`)).map((row) => row.email)).toEqual(['p0@example.com', 'a@example.com', 'c@example.com']);
  });

  it('deletes in one statement, reporting rows gone or changed', async () => {
    const rows = await created(4);
    await schema.query(`DELETE FROM ${table()} WHERE id = $1`, [rows[2]!.id]);
    await schema.query(`UPDATE ${table()} SET name = 'Edited', updated_at = clock_timestamp() WHERE id = $1`, [rows[3]!.id]);
    const before = await statements();
    const results = await connector.write(rows.map((row): WriteOp => ({ kind: 'delete', id: row.id, expectedVersion: row.version })));
    expect(results.map((result) => (result.ok ? 'ok' : result.reason))).toEqual(['ok', 'ok', 'missing', 'changed']);
    expect(await statements()).toBe(before + 1);
    expect((await schema.query<{ name: string }>(`SELECT name FROM ${table()}`)).map((row) => row.name)).toEqual(['Edited']);
  });

  it('writes a page that names one row twice op by op, in order', async () => {
    const [row] = await created(1);
    const results = await connector.write([
      { kind: 'update', id: row!.id, fields: { name: 'First' }, tag, expectedVersion: row!.version },
      { kind: 'update', id: row!.id, fields: { name: 'Second' }, tag, expectedVersion: null },
    ]);
    expect(results.map((result) => result.ok)).toEqual([true, true]);
    expect((await schema.query<{ name: string }>(`SELECT name FROM ${table()}`))[0]?.name).toBe('Second');
  });
});
