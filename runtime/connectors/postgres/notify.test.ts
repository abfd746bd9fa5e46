import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../../../test/connectors/support/postgres';
import { testAccess } from '../../../test/support/access';
import type { Connector } from '../types';
import { canSubscribe, functionFor, postgresConnector, type TableChange } from './index';

// Notifications say which changes were the runtime's own writes (their tag), so a flow can drop its echoes unread.

describe.skipIf(skipPostgres())('postgres notifications and write tags', () => {
  let schema: TestSchema;
  const connectors: Connector[] = [];
  const table = () => `"${schema.name}".leads`;

  beforeEach(async () => {
    schema = await createTestSchema();
    await schema.query(`CREATE TABLE ${table()} (id serial PRIMARY KEY, email text, updated_at timestamptz, sync_tag text)`);
  });

  afterEach(async () => {
    for (const connector of connectors.splice(0)) await connector.close();
    await schema.drop();
  });

  const ourFunctions = () =>
    schema.query<{ name: string }>(`SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname LIKE 'syncline%' ORDER BY 1`, [schema.name]);

  const open = async (overrides: Record<string, unknown> = {}): Promise<Connector> => {
    const connector = await postgresConnector.open({
      config: triggerConfigSchema.parse({
        connector: 'postgres',
        key: 'id',
        collection: `${schema.name}.leads`,
        updatedAt: 'updated_at',
        tagColumn: 'sync_tag',
        connection: { url: databaseUrl, notify: true },
        ...overrides,
      }),
      baseDir: '/',
      access: testAccess(),
      resolveCredential: async () => databaseUrl,
    });
    connectors.push(connector);
    return connector;
  };

  /** Subscribes, runs `act`, and returns the changes heard once `count` have arrived. */
  const hear = async (connector: Connector, count: number, act: () => Promise<void>): Promise<TableChange[]> => {
    if (!canSubscribe(connector)) throw new Error('expected a subscriber');
    const changes: TableChange[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const stop = await connector.subscribe((change) => {
      changes.push(change);
      if (changes.length === count) done();
    });
    try {
      await act();
      await all;
    } finally {
      await stop();
    }
    return changes;
  };

  it("tags the runtime's writes in their notifications, and nobody else's changes", async () => {
    const connector = await open();
    let id = '';
    const changes = await hear(connector, 4, async () => {
      const [created] = await connector.write([{ kind: 'create', fields: { email: 'a@example.com' }, tag: 'syncline:leads:0001' }]);
      if (!created?.ok) throw new Error('create failed');
      id = created.id;
      // A person's edit leaves the tag the runtime wrote as it was.
      await schema.query(`UPDATE ${table()} SET email = 'b@example.com', updated_at = now() WHERE id = $1`, [id]);
      await connector.write([{ kind: 'update', id, fields: { email: 'c@example.com' }, tag: 'syncline:leads:0002', expectedVersion: null }]);
      await schema.query(`INSERT INTO ${table()} (email, updated_at) VALUES ('d@example.com', now())`);
    });
    expect(changes.slice(0, 3)).toEqual([
      { id, type: 'upsert', tag: 'syncline:leads:0001' },
      { id, type: 'upsert' },
      { id, type: 'upsert', tag: 'syncline:leads:0002' },
    ]);
    expect(changes[3]).not.toHaveProperty('tag');
  });

  it("hears every row of a large statement, each with its own tag, in notifications PostgreSQL accepts", async () => {
    const connector = await open();
    const rows = 3000;
    const changes = await hear(connector, 2 * rows, async () => {
      // Tags long enough that the statement's rows need many payloads of under 8,000 bytes each.
      await schema.query(`INSERT INTO ${table()} (email, updated_at, sync_tag) SELECT 'p' || i || '@example.com', now(), 'syncline:other-flow:' || lpad(i::text, 40, '0') FROM generate_series(1, ${rows}) AS i`);
      // A person's edit of every row leaves the tags as they were: none is reported.
      await schema.query(`UPDATE ${table()} SET email = 'x' || email`);
    });
    const inserted = changes.slice(0, rows);
    expect(new Set(inserted.map((change) => change.id)).size).toBe(rows);
    expect(inserted.every((change) => change.type === 'upsert' && change.tag === `syncline:other-flow:${change.id.padStart(40, '0')}`)).toBe(true);
    expect(changes.slice(rows).every((change) => change.type === 'upsert' && change.tag === undefined)).toBe(true);
    const deleted = await hear(connector, rows, async () => {
      await schema.query(`DELETE FROM ${table()}`);
    });
    expect(new Set(deleted.filter((change) => change.type === 'delete').map((change) => change.id)).size).toBe(rows);
  });

  it('leaves a row whose key alone would overflow a notification out of the hints, and writes it all the same', async () => {
    await schema.query(`CREATE TABLE "${schema.name}".notes (code text PRIMARY KEY, body text, updated_at timestamptz, sync_tag text)`);
    const connector = await open({ collection: `${schema.name}.notes`, key: 'code' });
    const long = 'k'.repeat(5000);
    const changes = await hear(connector, 1, async () => {
      await schema.query(`INSERT INTO "${schema.name}".notes (code, body) VALUES ($1, 'too long to hint'), ('short', 'hinted')`, [long]);
    });
    expect(changes).toEqual([{ id: 'short', type: 'upsert' }]);
    expect(await schema.query(`SELECT count(*)::int AS n FROM "${schema.name}".notes`)).toEqual([{ n: 2 }]);
  });

  it('brings a trigger an older version installed up to date, once', async () => {
    // What earlier versions installed: the function without tags, the trigger with the channel and key only.
    await schema.query(`CREATE FUNCTION "${schema.name}".syncline_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE changed jsonb;
      BEGIN
        IF TG_OP = 'DELETE' THEN changed := to_jsonb(OLD); ELSE changed := to_jsonb(NEW); END IF;
        PERFORM pg_notify(TG_ARGV[0], json_build_object('op', lower(TG_OP), 'id', changed ->> TG_ARGV[1])::text);
        RETURN NULL;
      END $$`);
    await schema.query(`CREATE TRIGGER syncline_notify AFTER INSERT OR UPDATE OR DELETE ON ${table()} FOR EACH ROW EXECUTE FUNCTION "${schema.name}".syncline_notify_change('syncline:${schema.name}.leads', 'id')`);
    const connector = await open();
    // The row trigger is gone: a statement trigger per event calls a function of the table's own, and the shared one,
    // unused, is gone too.
    const triggers = await schema.query<{ trigger: string; name: string }>(
      `SELECT tg.tgname AS trigger, p.proname AS name FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid WHERE tg.tgrelid = '${table()}'::regclass AND NOT tg.tgisinternal ORDER BY 1`,
    );
    const name = functionFor(schema.name, 'leads');
    expect(triggers).toEqual(['syncline_notify_delete', 'syncline_notify_insert', 'syncline_notify_update'].map((trigger) => ({ trigger, name })));
    expect(await ourFunctions()).toEqual([{ name: 'syncline_notify_for_leads' }]);
    const changes = await hear(connector, 1, async () => {
      await connector.write([{ kind: 'create', fields: { email: 'a@example.com' }, tag: 'syncline:leads:0003' }]);
    });
    expect(changes[0]?.tag).toBe('syncline:leads:0003');
    // Opened again, nothing is reinstalled.
    const before = await schema.query(`SELECT oid FROM pg_trigger WHERE tgrelid = '${table()}'::regclass AND NOT tgisinternal`);
    await open();
    expect(await schema.query(`SELECT oid FROM pg_trigger WHERE tgrelid = '${table()}'::regclass AND NOT tgisinternal`)).toEqual(before);
  });

  it('keeps the shared function of older versions while another table still calls it', async () => {
    await schema.query(`CREATE TABLE "${schema.name}".deals (id serial PRIMARY KEY, email text, updated_at timestamptz, sync_tag text)`);
    await schema.query(`CREATE FUNCTION "${schema.name}".syncline_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify(TG_ARGV[0], json_build_object('op', lower(TG_OP), 'id', 'x')::text); RETURN NULL; END $$`);
    for (const name of ['leads', 'deals']) {
      await schema.query(
        `CREATE TRIGGER syncline_notify AFTER INSERT OR UPDATE OR DELETE ON "${schema.name}".${name} FOR EACH ROW EXECUTE FUNCTION "${schema.name}".syncline_notify_change('syncline:${schema.name}.${name}', 'id')`,
      );
    }
    await open();
    expect(await ourFunctions()).toEqual([{ name: 'syncline_notify_change' }, { name: 'syncline_notify_for_leads' }]);
    await open({ collection: `${schema.name}.deals` });
    expect(await ourFunctions()).toEqual([{ name: 'syncline_notify_for_deals' }, { name: 'syncline_notify_for_leads' }]);
  });

  it('names odd columns and long tables right in the function it writes for the table', async () => {
    // 60 characters: the function's readable name would pass PostgreSQL's 63 bytes, so it is hashed, like the channel.
    const long = `leads_${'x'.repeat(54)}`;
    await schema.query(`CREATE TABLE "${schema.name}".${long} ("Record ""Key""" text PRIMARY KEY, email text, updated_at timestamptz, "it's tag" text)`);
    const connector = await open({ collection: `${schema.name}.${long}`, key: 'Record "Key"', tagColumn: "it's tag" });
    expect(functionFor(schema.name, long)).toMatch(/^syncline_notify_for_[0-9a-f]{40}$/);
    const changes = await hear(connector, 3, async () => {
      await connector.write([{ kind: 'create', id: 'k-1', fields: { email: 'a@example.com' }, tag: 'syncline:leads:0004' }]);
      await schema.query(`UPDATE "${schema.name}".${long} SET email = 'b@example.com' WHERE "Record ""Key""" = 'k-1'`);
      await schema.query(`DELETE FROM "${schema.name}".${long} WHERE "Record ""Key""" = 'k-1'`);
    });
    expect(changes).toEqual([
      { id: 'k-1', type: 'upsert', tag: 'syncline:leads:0004' },
      { id: 'k-1', type: 'upsert' },
      { id: 'k-1', type: 'delete' },
    ]);
  });
});
