import { afterEach, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../nodes/types';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { runConnectorContract, type ContractFixture, type ExternalEditor } from '../../../test/connector-contract';
import { freePort } from '../../../test/connectors/support/jsonServer';
import { createTestSchema, databaseUrl, skipPostgres, unreachableUrl, urlWithUser, type TestSchema } from '../../../test/connectors/support/postgres';
import { testAccess } from '../../../test/support/access';
import { ConnectorError, type Connector } from '../types';
import { describeTarget, isoTimestamp } from './connection';
import { canSubscribe, postgresConnector, removePostgresNotifications, type TableChange } from './index';

function open(config: Record<string, unknown>, credentials: Record<string, string> = {}): Promise<Connector> {
  const parsed = triggerConfigSchema.parse({ connector: 'postgres', key: 'id', connection: { url: databaseUrl }, ...config });
  return postgresConnector.open({
    config: parsed,
    baseDir: '/',
    access: testAccess(),
    resolveCredential: async (name) => {
      const value = credentials[name];
      if (value === undefined) throw new Error(`no credential "${name}"`);
      return value;
    },
  });
}

interface TableSpec {
  /** CREATE TABLE body, with the data columns email, name, score and the bookkeeping ones. */
  columns: string;
  key: string;
  updatedAt: { column: string; as: 'timestamptz' | 'iso-text' | 'epoch-ms' };
  tagColumn?: string;
  deletedFlag?: { column: string; value: string };
  /** The editor makes the key up, as an application would, instead of the database. */
  clientKeys?: boolean;
  /** Keys for creates under a given key, when the suite's numbers do not fit the key column. */
  newKey?: (n: number) => string;
}

/** Another user of the database, writing through a connection of its own; its stamps are later than every row's. */
function externalEditor(schema: TestSchema, table: string, spec: TableSpec): ExternalEditor {
  const t = `"${schema.name}"."${table}"`;
  const u = `"${spec.updatedAt.column}"`;
  const stamp = async (): Promise<unknown> => {
    if (spec.updatedAt.as === 'timestamptz') {
      const [row] = await schema.query<{ at: string }>(`SELECT GREATEST(clock_timestamp(), (SELECT max(${u}) FROM ${t}) + interval '1 millisecond')::text AS at`);
      return row?.at;
    }
    const [row] = await schema.query<{ newest: string | null }>(`SELECT max(${u})::text AS newest FROM ${t}`);
    const newestMs = row?.newest ? (spec.updatedAt.as === 'epoch-ms' ? Number(row.newest) : Date.parse(row.newest)) : 0;
    while (Date.now() <= newestMs) await new Promise((resolve) => setTimeout(resolve, 1));
    const now = Date.now();
    return spec.updatedAt.as === 'epoch-ms' ? now : new Date(now).toISOString();
  };
  const insertAt = async (fields: FlowRecord, at: unknown): Promise<string> => {
    const row: Record<string, unknown> = { ...fields, [spec.updatedAt.column]: at };
    if (spec.clientKeys) row[spec.key] = `ext-${Math.random().toString(36).slice(2, 10)}`;
    const names = Object.keys(row);
    const [inserted] = await schema.query<{ id: string }>(
      `INSERT INTO ${t} (${names.map((name) => `"${name}"`).join(', ')}) VALUES (${names.map((_, index) => `$${index + 1}`).join(', ')}) RETURNING "${spec.key}"::text AS id`,
      names.map((name) => row[name]),
    );
    return inserted?.id as string;
  };
  const updateWith = async (id: string, values: Record<string, unknown>): Promise<void> => {
    const names = Object.keys(values);
    const rows = await schema.query(
      `UPDATE ${t} SET ${names.map((name, index) => `"${name}" = $${index + 1}`).join(', ')} WHERE "${spec.key}"::text = $${names.length + 1} RETURNING 1`,
      [...names.map((name) => values[name]), id],
    );
    if (rows.length !== 1) throw new Error(`external update of ${id} changed ${rows.length} rows`);
  };
  return {
    insert: async (fields) => insertAt(fields, await stamp()),
    insertAtOneVersion: async (records) => {
      const at = await stamp();
      const ids: string[] = [];
      for (const fields of records) ids.push(await insertAt(fields, at));
      return ids;
    },
    update: async (id, fields) => updateWith(id, { ...fields, [spec.updatedAt.column]: await stamp() }),
    delete: async (id) => void (await schema.query(`DELETE FROM ${t} WHERE "${spec.key}"::text = $1`, [id])),
    ...(spec.deletedFlag
      ? {
          softDelete: async (id: string) =>
            updateWith(id, { [(spec.deletedFlag as { column: string }).column]: (spec.deletedFlag as { value: string }).value, [spec.updatedAt.column]: await stamp() }),
        }
      : {}),
  };
}

function contractFixture(spec: TableSpec): () => Promise<ContractFixture> {
  return async () => {
    const schema = await createTestSchema();
    await schema.query(`CREATE TABLE "${schema.name}"."people" (${spec.columns})`);
    const connector = await open({
      collection: `${schema.name}.people`,
      key: spec.key,
      updatedAt: spec.updatedAt.column,
      ...(spec.tagColumn ? { tagColumn: spec.tagColumn } : {}),
      ...(spec.deletedFlag ? { deletedFlag: spec.deletedFlag.column } : {}),
    });
    return {
      connector,
      collection: `${schema.name}.people`,
      bookkeeping: [spec.key, spec.updatedAt.column, ...(spec.tagColumn ? [spec.tagColumn] : []), ...(spec.deletedFlag ? [spec.deletedFlag.column] : [])],
      softDeletes: spec.deletedFlag !== undefined,
      external: externalEditor(schema, 'people', spec),
      ...(spec.newKey ? { newKey: spec.newKey } : {}),
      teardown: async () => {
        await connector.close();
        await schema.drop();
      },
    };
  };
}

describe('postgres connection settings', () => {
  it('checks the connection: a URL or a credential, never a password in the flow', () => {
    expect(postgresConnector.checkConnection({ url: 'postgres://app:secret@db/crm' })).toEqual([
      { path: ['url'], message: expect.stringMatching(/holds a password: .*store the URL as a credential/) },
    ]);
    expect(postgresConnector.checkConnection({})).toEqual([{ path: ['url'], message: expect.stringMatching(/either url .* or credential/) }]);
    expect(postgresConnector.checkConnection({ url: { credential: 'crm-db' } })).toEqual([]);
    expect(postgresConnector.checkConnection({ credential: 'crm-db' })).toEqual([]);
    expect(postgresConnector.checkConnection({ url: 'mysql://db/crm' })[0]?.message).toMatch(/must start with postgres:\/\//);
    expect(postgresConnector.checkConnection({ url: 'postgres://db/crm', pool: 3 })[0]).toMatchObject({ path: [] });
  });

  it('reads timestamps as ISO-8601 without losing microseconds, and never shows a password', () => {
    expect(isoTimestamp('2024-05-01 10:00:00.123456+00')).toBe('2024-05-01T10:00:00.123456Z');
    expect(isoTimestamp('2024-05-01 10:00:00+05:30')).toBe('2024-05-01T10:00:00+05:30');
    expect(isoTimestamp('2024-05-01 10:00:00.5-02')).toBe('2024-05-01T10:00:00.5-02:00');
    expect(isoTimestamp('2024-05-01 10:00:00')).toBe('2024-05-01T10:00:00');
    expect(isoTimestamp('infinity')).toBe('infinity');
    expect(describeTarget('postgres://app:s3cret@db.internal:5433/crm?sslmode=require')).toBe('postgres://app@db.internal:5433/crm');
  });
});

describe.skipIf(skipPostgres())('postgres', () => {
  runConnectorContract(
    'postgres (serial key, timestamptz, tag)',
    contractFixture({
      columns: 'id serial PRIMARY KEY, email text, name text, score double precision, updated_at timestamptz, sync_tag text',
      key: 'id',
      updatedAt: { column: 'updated_at', as: 'timestamptz' },
      tagColumn: 'sync_tag',
    }),
  );

  runConnectorContract(
    'postgres (text key made by the runtime, ISO text versions, soft delete by time)',
    contractFixture({
      columns: 'uid text PRIMARY KEY, email text, name text, score numeric, modified text, sync_tag text, deleted_at timestamptz',
      key: 'uid',
      updatedAt: { column: 'modified', as: 'iso-text' },
      tagColumn: 'sync_tag',
      deletedFlag: { column: 'deleted_at', value: '2024-05-01T00:00:00Z' },
      clientKeys: true,
    }),
  );

  runConnectorContract(
    'postgres (uuid key, epoch-millisecond versions, soft delete flag)',
    contractFixture({
      columns: 'id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email varchar(200), name text, score real, version_ms bigint, deleted boolean NOT NULL DEFAULT false',
      key: 'id',
      updatedAt: { column: 'version_ms', as: 'epoch-ms' },
      deletedFlag: { column: 'deleted', value: 'true' },
      newKey: (n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    }),
  );

  describe('postgres connector', () => {
    let schema: TestSchema | undefined;
    const connectors: Connector[] = [];
    afterEach(async () => {
      for (const connector of connectors.splice(0)) await connector.close();
      await schema?.drop();
      schema = undefined;
    });
    const track = (connector: Connector): Connector => {
      connectors.push(connector);
      return connector;
    };

    it('says when nothing listens at the address', async () => {
      const url = unreachableUrl(await freePort());
      const error = await open({ collection: 'leads', connection: { url, connectTimeoutMs: 2000 } }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).message).toMatch(/^PostgreSQL postgres:\/\/.*: cannot connect to 127\.0\.0\.1:\d+ \(connection refused\): is PostgreSQL running/);
      expect((error as ConnectorError).retryable).toBe(true);
    });

    it('says when the server refuses the login, without showing the password', async () => {
      const error = (await open({ collection: 'leads', connection: { credential: 'crm-db' } }, { 'crm-db': urlWithUser('no_such_user').replace('no_such_user@', 'no_such_user:s3cret@') }).catch(
        (caught: unknown) => caught,
      )) as ConnectorError;
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error.message).toMatch(/refused the login \(role "no_such_user" does not exist\): check the user and password/);
      expect(error.message).not.toContain('s3cret');
      expect(error.retryable).toBe(false);
    });

    it('says when the table does not exist, listing the ones that do', async () => {
      schema = await createTestSchema();
      await schema.query(`CREATE TABLE "${schema.name}".leads (id serial PRIMARY KEY)`);
      await expect(open({ collection: `${schema.name}.leeds` })).rejects.toThrow(`table "${schema.name}.leeds" does not exist in ${new URL(databaseUrl).protocol}//`);
      await expect(open({ collection: `${schema.name}.leeds` })).rejects.toThrow(`tables in schema "${schema.name}": leads`);
    });

    it('refuses keys "shared" on a GENERATED ALWAYS key at open, and takes it on a key generated by default', async () => {
      schema = await createTestSchema();
      await schema.query(`CREATE TABLE "${schema.name}".always (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text)`);
      await schema.query(`CREATE TABLE "${schema.name}".by_default (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, email text)`);
      await expect(open({ collection: `${schema.name}.always`, keys: 'shared' })).rejects.toThrow(
        `column "id" (key) of "${schema.name}"."always" is GENERATED ALWAYS: it cannot take the key of a record from another side (keys "shared"); make it GENERATED BY DEFAULT AS IDENTITY, or set keys to "own"`,
      );
      expect(track(await open({ collection: `${schema.name}.always` })).capabilities.givenKeys).toBe(false);
      const connector = track(await open({ collection: `${schema.name}.by_default`, keys: 'shared' }));
      expect(connector.capabilities.givenKeys).toBe(true);
      const results = await connector.write([
        { kind: 'create', fields: { email: 'given@example.com' }, tag: 't', id: '0042' },
        { kind: 'create', fields: { email: 'own@example.com' }, tag: 't' },
        { kind: 'create', fields: { email: 'not-a-number@example.com' }, tag: 't', id: 'abc' },
      ]);
      // "0042" is 42 in an integer key: the result names the row as the key column prints it.
      expect(results[0]).toMatchObject({ ok: true, id: '42' });
      expect(results[1]).toMatchObject({ ok: true, id: '1' });
      expect(results[2]).toEqual({ ok: false, reason: 'failed', retryable: false, message: `key "abc" cannot be a value of column "id" (key, integer) of "${schema.name}"."by_default"` });
      expect(await schema.query(`SELECT id, email FROM "${schema.name}".by_default ORDER BY id`)).toEqual([
        { id: 1, email: 'own@example.com' },
        { id: 42, email: 'given@example.com' },
      ]);
    });

    it('reads a table of the current schema by its bare name, and describes every visible table', async () => {
      schema = await createTestSchema();
      const table = `${schema.name}_bare`;
      await schema.query(`CREATE TABLE public."${table}" (id serial PRIMARY KEY, email text, updated_at timestamptz)`);
      try {
        const connector = track(await open({ collection: table, updatedAt: 'updated_at' }));
        const described = await connector.describe();
        expect(described.find((collection) => collection.name === table)?.fields).toEqual([{ name: 'email', type: 'text', nullable: true }]);
        const viaConnection = await postgresConnector.describeConnection({ connection: { url: databaseUrl }, baseDir: '/', resolveCredential: () => Promise.reject(new Error('none')), access: testAccess() });
        expect(viaConnection.find((collection) => collection.name === table)?.fields.map((field) => field.name)).toEqual(['id', 'email', 'updated_at']);
      } finally {
        await schema.query(`DROP TABLE public."${table}"`);
      }
    });

    it('round-trips JSON values through json, boolean, numeric, big integer, date and timestamp columns', async () => {
      schema = await createTestSchema();
      await schema.query(
        `CREATE TABLE "${schema.name}".things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc jsonb, list jsonb, flag boolean, amount numeric(12,2),
          big bigint, day date, at timestamptz, local timestamp, tags text[], updated_at timestamptz)`,
      );
      const connector = track(await open({ collection: `${schema.name}.things`, updatedAt: 'updated_at' }));
      const fields = {
        doc: { a: [1, 'two', null], b: { c: true } },
        list: [1, 2, 3],
        flag: false,
        amount: 12.5,
        big: 9007199254740991,
        day: '2024-05-01',
        at: '2024-05-01T10:00:00.123456Z',
        local: '2024-05-01T10:00:00',
        tags: ['x', 'y'],
      };
      const [result] = await connector.write([{ kind: 'create', fields, tag: 't' }]);
      expect(result).toMatchObject({ ok: true });
      const id = (result as { id: string }).id;
      await schema.query(`UPDATE "${schema.name}".things SET big = 9007199254740993 WHERE id = $1`, [id]);
      const read = (await connector.getMany([id])).get(id);
      // Past 2^53 a number would round: the value comes back as text instead.
      expect(read?.fields).toEqual({ ...fields, big: '9007199254740993' });
      expect(read?.version).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(await (connector as Connector & { count(): Promise<number> }).count()).toBe(1);
      const [refused] = await connector.write([{ kind: 'update', id, fields: { nope: 1 }, tag: 't', expectedVersion: null }]);
      expect(refused).toMatchObject({ ok: false, reason: 'failed', message: expect.stringContaining('has no column "nope"') });
    });

    it('reports changes through LISTEN/NOTIFY only when asked, and removes its trigger again', async () => {
      schema = await createTestSchema();
      const t = `"${schema.name}".leads`;
      await schema.query(`CREATE TABLE ${t} (id serial PRIMARY KEY, email text, updated_at timestamptz)`);
      const countTriggers = async () => Number((await schema!.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_trigger WHERE tgrelid = '${t}'::regclass AND NOT tgisinternal`))[0]?.n);

      const plain = track(await open({ collection: `${schema.name}.leads`, updatedAt: 'updated_at' }));
      expect(canSubscribe(plain)).toBe(false);
      expect(await countTriggers()).toBe(0);

      const config = { collection: `${schema.name}.leads`, updatedAt: 'updated_at', connection: { url: databaseUrl, notify: true } };
      const listening = track(await open(config));
      // One statement trigger per event.
      expect(await countTriggers()).toBe(3);
      // Opening again installs nothing more; and the triggers, which change no row, leave creates returning their rows.
      const again = track(await open(config));
      expect(await countTriggers()).toBe(3);
      expect(again.capabilities.createdRecords).toBe(true);
      if (!canSubscribe(listening)) throw new Error('expected a subscriber');
      const changes: TableChange[] = [];
      let allHeard: () => void = () => undefined;
      const heard = new Promise<void>((resolve) => (allHeard = resolve));
      // LISTEN is in place once subscribe() resolves.
      const stop = await listening.subscribe((change) => {
        changes.push(change);
        if (changes.length === 3) allHeard();
      });
      const [inserted] = await schema.query<{ id: number }>(`INSERT INTO ${t} (email, updated_at) VALUES ('a@example.com', now()) RETURNING id`);
      await schema.query(`UPDATE ${t} SET email = 'b@example.com' WHERE id = $1`, [inserted?.id]);
      await schema.query(`DELETE FROM ${t} WHERE id = $1`, [inserted?.id]);
      await heard;
      await stop();
      const id = String(inserted?.id);
      expect(changes).toEqual([
        { id, type: 'upsert' },
        { id, type: 'upsert' },
        { id, type: 'delete' },
      ]);

      await removePostgresNotifications({ config: triggerConfigSchema.parse({ connector: 'postgres', key: 'id', ...config }), baseDir: '/', resolveCredential: () => Promise.reject(new Error('none')), access: testAccess() });
      expect(await countTriggers()).toBe(0);
      const functions = await schema.query(`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname LIKE 'syncline%'`, [schema.name]);
      expect(functions).toEqual([]);
    });
  });
});
