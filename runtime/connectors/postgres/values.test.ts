import { describe, expect, it } from 'vitest';
import { schemaPerTest, skipPostgres } from '../../../test/connectors/support/postgres';

describe.skipIf(skipPostgres())('values of PostgreSQL columns', () => {
  const tables = schemaPerTest();
  const open = (table: string, extra?: Record<string, unknown>) => tables.open(table, extra);

  it('reads timestamp, date, numeric and int8 arrays by the rules of their elements, and writes them back unchanged', async () => {
    const columns = 'at timestamptz[], local timestamp[], days date[], amounts numeric[], bigs int8[], grid int8[][]';
    await tables.schema.query(`CREATE TABLE "${tables.schema.name}".a (id serial PRIMARY KEY, ${columns})`);
    await tables.schema.query(`CREATE TABLE "${tables.schema.name}".b (id serial PRIMARY KEY, ${columns})`);
    await tables.schema.query(`INSERT INTO "${tables.schema.name}".a (at, local, days, amounts, bigs, grid) VALUES (
      '{"2024-05-01 10:00:00.123456+00",NULL}', '{"2024-05-01 10:00:00.000001"}', '{2024-05-01,NULL,1999-12-31}',
      '{1.5,NULL,12345678901234567.89}', '{9007199254740993,1,NULL}', '{{1,9007199254740993},{NULL,2}}')`);
    const [record] = (await (await open('a')).listSince({ since: null, afterId: null }, 10)).records;
    expect(record?.fields).toEqual({
      at: ['2024-05-01T10:00:00.123456Z', null],
      local: ['2024-05-01T10:00:00.000001'],
      days: ['2024-05-01', null, '1999-12-31'],
      amounts: [1.5, null, '12345678901234567.89'],
      bigs: ['9007199254740993', 1, null],
      grid: [
        [1, '9007199254740993'],
        [null, 2],
      ],
    });
    const [written] = await (await open('b')).write([{ kind: 'create', fields: record?.fields ?? {}, tag: 't' }]);
    expect(written).toMatchObject({ ok: true });
    const differing = await tables.schema.query(
      `SELECT a.* FROM "${tables.schema.name}".a a, "${tables.schema.name}".b b WHERE (a.at, a.local, a.days, a.amounts, a.bigs, a.grid)::text IS DISTINCT FROM (b.at, b.local, b.days, b.amounts, b.bigs, b.grid)::text`,
    );
    expect(differing).toEqual([]);
  });

  it('reads json as JSON values: what it holds, not its text (key order, spacing), as jsonb keeps it', async () => {
    await tables.schema.query(`CREATE TABLE "${tables.schema.name}".a (id serial PRIMARY KEY, doc json)`);
    await tables.schema.query(`CREATE TABLE "${tables.schema.name}".b (id serial PRIMARY KEY, doc json)`);
    await tables.schema.query(`INSERT INTO "${tables.schema.name}".a (doc) VALUES ('{"z": 1, "1": 2, "nested": {"b": [1, {"y": null}]}}')`);
    const [record] = (await (await open('a')).listSince({ since: null, afterId: null }, 10)).records;
    expect(record?.fields.doc).toEqual({ z: 1, '1': 2, nested: { b: [1, { y: null }] } });
    await (await open('b')).write([{ kind: 'create', fields: record?.fields ?? {}, tag: 't' }]);
    // The same value, as jsonb compares it; its text is JSON.stringify's, integer-like keys first.
    const [same] = await tables.schema.query<{ same: boolean; text: string }>(`SELECT a.doc::jsonb = b.doc::jsonb AS same, b.doc::text AS text FROM "${tables.schema.name}".a a, "${tables.schema.name}".b b`);
    expect(same).toEqual({ same: true, text: '{"1":2,"z":1,"nested":{"b":[1,{"y":null}]}}' });
  });

  it('names the table and the column of the type PostgreSQL refused a value for, else every column written with its type', async () => {
    await tables.schema.query(`CREATE TABLE "${tables.schema.name}".things (id serial PRIMARY KEY, score numeric, name varchar(3), born date, updated_at timestamptz)`);
    await tables.schema.query(`INSERT INTO "${tables.schema.name}".things (score, name, born) VALUES (1, 'a', '2000-01-01'), (2, 'b', '2000-01-01')`);
    const connector = await open('things', { updatedAt: 'updated_at' });
    const table = `"${tables.schema.name}"."things"`;
    const update = (id: string, fields: Record<string, unknown>) => ({ kind: 'update' as const, id, fields, tag: 't', expectedVersion: null });
    // Two updates of the same fields are one statement: the bad one fails alone, the other is written.
    const [bad, good] = await connector.write([update('1', { score: 'abc', name: 'x' }), update('2', { score: 3, name: 'y' })]);
    expect(bad).toMatchObject({ ok: false, reason: 'failed', retryable: false });
    expect((bad as { message: string }).message).toContain(`invalid input syntax for type numeric: "abc"; table ${table}, column "score" (numeric): give it a value`);
    expect(good).toMatchObject({ ok: true });
    const [tooLong] = await connector.write([update('1', { name: 'abcd' })]);
    expect((tooLong as { message: string }).message).toContain(`value too long for type character varying(3); table ${table}, column "name" (character varying)`);
    const [outOfRange] = await connector.write([{ kind: 'create', fields: { born: '2024-13-45', name: 'z' }, tag: 't' }]);
    expect((outOfRange as { message: string }).message).toMatch(/date\/time field value out of range: "2024-13-45"; table .*, one of the columns written: "born" \(date\), "name" \(character varying\)/);
    expect(await tables.schema.query(`SELECT id, score::text, name FROM "${tables.schema.name}".things ORDER BY id`)).toEqual([
      { id: 1, score: '1', name: 'a' },
      { id: 2, score: '3', name: 'y' },
    ]);
  });
});
