import { beforeEach, describe, expect, it } from 'vitest';
import { schemaPerTest, skipPostgres } from '../../../test/connectors/support/postgres';
import type { WriteOp } from '../types';

describe.skipIf(skipPostgres())('keys of PostgreSQL tables and views', () => {
  const tables = schemaPerTest();
  const open = (table: string, extra?: Record<string, unknown>) => tables.open(table, extra);

  describe('a key without a unique index', () => {
    const rows = () => tables.schema.query(`SELECT id, email FROM "${tables.schema.name}".people ORDER BY id, email`);
    const update = (id: string, email: string): WriteOp => ({ kind: 'update', id, fields: { email }, tag: 't', expectedVersion: null });
    const remove = (id: string): WriteOp => ({ kind: 'delete', id, expectedVersion: null });
    const shared = (id: string) => ({
      ok: false,
      reason: 'failed',
      retryable: false,
      message: expect.stringContaining(`table "${tables.schema.name}"."people" has 2 rows with key "id" = ${id}, so the write would change them all; nothing was written. Key "id" has no unique index`),
    });

    beforeEach(async () => {
      await tables.schema.query(`CREATE TABLE "${tables.schema.name}".people (id integer NOT NULL, email text, updated_at timestamptz)`);
      await tables.schema.query(`INSERT INTO "${tables.schema.name}".people (id, email, updated_at) VALUES (1, 'a@example.com', now()), (1, 'b@example.com', now()), (2, 'c@example.com', now())`);
    });

    it('fails an update that would write several rows, in a page written in one statement and alone, and writes the rest', async () => {
      const connector = await open('people', { updatedAt: 'updated_at' });
      expect(await connector.write([update('1', 'x@example.com'), update('2', 'y@example.com')])).toEqual([shared('1'), expect.objectContaining({ ok: true, id: '2' })]);
      expect(await connector.write([update('1', 'z@example.com')])).toEqual([shared('1')]);
      expect(await rows()).toEqual([
        { id: 1, email: 'a@example.com' },
        { id: 1, email: 'b@example.com' },
        { id: 2, email: 'y@example.com' },
      ]);
    });

    it('fails a delete that would remove several rows, and deletes the rest', async () => {
      const connector = await open('people');
      expect(await connector.write([remove('1')])).toEqual([shared('1')]);
      expect(await connector.write([remove('1'), remove('2')])).toEqual([shared('1'), { ok: true, id: '2', version: null }]);
      expect(await rows()).toEqual([
        { id: 1, email: 'a@example.com' },
        { id: 1, email: 'b@example.com' },
      ]);
    });
  });

  describe('an updatable view', () => {
    beforeEach(async () => {
      await tables.schema.query(`CREATE TABLE "${tables.schema.name}".contacts (id serial PRIMARY KEY, email text, updated_at timestamptz)`);
      await tables.schema.query(`CREATE VIEW "${tables.schema.name}".contacts_v AS SELECT id, email, updated_at FROM "${tables.schema.name}".contacts`);
    });

    it('creates rows with the key the base table’s default gives, one op or a page of them', async () => {
      const connector = await open('contacts_v', { updatedAt: 'updated_at' });
      const create = (email: string): WriteOp => ({ kind: 'create', fields: { email }, tag: 't' });
      const results = [...(await connector.write([create('a@example.com')])), ...(await connector.write([create('b@example.com'), create('c@example.com')]))];
      expect(results).toEqual([
        expect.objectContaining({ ok: true, id: '1' }),
        expect.objectContaining({ ok: true, id: '2' }),
        expect.objectContaining({ ok: true, id: '3' }),
      ]);
      expect(await tables.schema.query(`SELECT id, email FROM "${tables.schema.name}".contacts ORDER BY id`)).toEqual([
        { id: 1, email: 'a@example.com' },
        { id: 2, email: 'b@example.com' },
        { id: 3, email: 'c@example.com' },
      ]);
    });

    it('lets PostgreSQL say so when the base table has no default for the key either', async () => {
      await tables.schema.query(`CREATE TABLE "${tables.schema.name}".plain (id integer PRIMARY KEY, email text)`);
      await tables.schema.query(`CREATE VIEW "${tables.schema.name}".plain_v AS SELECT id, email FROM "${tables.schema.name}".plain`);
      const connector = await open('plain_v');
      const [result] = await connector.write([{ kind: 'create', fields: { email: 'a@example.com' }, tag: 't' }]);
      expect(result).toMatchObject({ ok: false, reason: 'failed', message: expect.stringContaining('null value in column "id" of relation "plain" violates not-null constraint') });
    });
  });
});
