import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { carryOverWebhookEvents, openInboxDb, type InboxDb } from './inbox';
import { createTestSchema, databaseUrl, skipPostgres } from '../../test/connectors/support/postgres';
import { openStateDb, type StateDb } from './index';
import { pendingEvents, storeDeliveries } from './webhookQueries';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-inbox-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function memoryDbs(): Promise<{ state: StateDb; inbox: InboxDb }> {
  const state = await openStateDb(':memory:');
  const inbox = await openInboxDb(':memory:');
  cleanups.push(async () => {
    await inbox.destroy();
    await state.destroy();
  });
  return { state, inbox };
}

describe('openInboxDb', () => {
  it('creates and migrates a fresh file, with a migration table of its own, and opens it again as it is', async () => {
    const file = join(tempDir(), 'nested', 'webhooks.db');
    const first = await openInboxDb(file);
    await storeDeliveries(first, [{ flowId: 'f', nodeId: 'a', deliveryId: 'd-1', events: [{ recordId: '1', type: 'upsert' }] }], '2026-01-01T00:00:00.000Z');
    await first.destroy();

    const raw = new Sqlite(file, { readonly: true });
    const tables = (raw.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as Array<{ name: string }>).map((row) => row.name);
    const migrations = raw.prepare('select name from inbox_migration').all();
    const journal = raw.pragma('journal_mode', { simple: true });
    raw.close();
    expect(tables).toEqual(['inbox_migration', 'inbox_migration_lock', 'webhook_deliveries', 'webhook_events']);
    expect(migrations).toEqual([{ name: '2026_11_26_2100_webhook_inbox' }]);
    expect(journal).toBe('wal');

    const again = await openInboxDb(file);
    cleanups.push(() => again.destroy());
    expect(await pendingEvents(again, 'f', 10)).toEqual([expect.objectContaining({ record_id: '1', delivery_id: 'd-1' })]);
    expect(await storeDeliveries(again, [{ flowId: 'f', nodeId: 'a', deliveryId: 'd-1', events: [] }], '2026-01-01T00:01:00.000Z')).toEqual([false]);
  });

  it("finds a flow's pending events by index, already in id order", async () => {
    const { inbox } = await memoryDbs();
    const plan = await sql<{ detail: string }>`explain query plan
      select * from webhook_events where flow_id = ${'f'} and processed_at is null order by id limit ${10}`.execute(inbox);
    const details = plan.rows.map((row) => row.detail).join('\n');
    expect(details).toMatch(/USING INDEX webhook_events_pending/);
    expect(details).not.toMatch(/TEMP B-TREE/);
  });

  it('says which file it could not open', async () => {
    const file = join(tempDir(), 'webhooks.db');
    writeFileSync(file, 'not a database, but something a person may want back');
    await expect(openInboxDb(file)).rejects.toThrow(`the webhook inbox ${file} could not be opened: file is not a database`);
  });
});

describe.skipIf(skipPostgres())('openInboxDb on PostgreSQL', () => {
  it("keeps the inbox in the state's schema, with a history of its own, and indexes only the pending events", async () => {
    const schema = await createTestSchema('syncline_inbox');
    cleanups.push(() => schema.drop());
    // The inbox first, as a process may open it: it brings the state's tables, which it shares, up to date itself.
    const inbox = await openInboxDb(databaseUrl, { schema: schema.name });
    cleanups.push(() => inbox.destroy());
    const state = await openStateDb(databaseUrl, { schema: schema.name });
    cleanups.push(() => state.destroy());
    await storeDeliveries(inbox, [{ flowId: 'f', nodeId: 'a', deliveryId: 'd-1', events: [{ recordId: '1', type: 'upsert' }] }], '2026-01-01T00:00:00.000Z');
    // One table, seen through either handle.
    expect(await state.selectFrom('webhook_events').select(['record_id', 'delivery_id']).execute()).toEqual([{ record_id: '1', delivery_id: 'd-1' }]);
    expect(await schema.query(`select name from "${schema.name}".inbox_migration`)).toEqual([{ name: '2026_11_26_2100_webhook_inbox' }]);
    const indexes = await schema.query<{ indexdef: string }>('select indexdef from pg_indexes where schemaname = $1 and indexname = $2', [schema.name, 'webhook_events_pending']);
    expect(indexes.map((row) => row.indexdef)).toEqual([expect.stringMatching(/\(flow_id\) WHERE \(processed_at IS NULL\)$/)]);
    // Opened again: nothing left to migrate, the events still there.
    const again = await openInboxDb(databaseUrl, { schema: schema.name });
    cleanups.push(() => again.destroy());
    expect(await pendingEvents(again, 'f', 10)).toEqual([expect.objectContaining({ record_id: '1' })]);
  });

  it('carries nothing over from a state in PostgreSQL, whose webhook tables are the inbox', async () => {
    const schema = await createTestSchema('syncline_inbox');
    cleanups.push(() => schema.drop());
    const inbox = await openInboxDb(databaseUrl, { schema: schema.name });
    cleanups.push(() => inbox.destroy());
    const state = await openStateDb(databaseUrl, { schema: schema.name });
    cleanups.push(() => state.destroy());
    await storeDeliveries(inbox, [{ flowId: 'f', nodeId: 'a', deliveryId: null, events: [{ recordId: '1', type: 'upsert' }] }], '2026-01-01T00:00:00.000Z');
    expect(await carryOverWebhookEvents(state, inbox)).toEqual({ events: 0, deliveries: 0 });
    expect(await pendingEvents(inbox, 'f', 10)).toHaveLength(1);
  });
});

describe('carryOverWebhookEvents', () => {
  /** What a state file from before the inbox held: a processed event with its delivery id, and pending events of two flows. */
  async function olderState(state: StateDb): Promise<void> {
    await state
      .insertInto('webhook_events')
      .values([
        { flow_id: 'people', node_id: 'a', record_id: '1', type: 'upsert', delivery_id: 'd-1', received_at: '2026-01-01T00:00:00.000Z', processed_at: '2026-01-01T00:00:01.000Z' },
        { flow_id: 'people', node_id: 'a', record_id: '2', type: 'delete', delivery_id: null, received_at: '2026-01-01T00:00:02.000Z', processed_at: null },
        { flow_id: 'other', node_id: 'b', record_id: '3', type: 'upsert', delivery_id: 'd-2', received_at: '2026-01-01T00:00:03.000Z', processed_at: null },
        { flow_id: 'people', node_id: 'a', record_id: '1', type: 'upsert', delivery_id: null, received_at: '2026-01-01T00:00:04.000Z', processed_at: null },
      ])
      .execute();
    await state
      .insertInto('webhook_deliveries')
      .values([
        { flow_id: 'people', node_id: 'a', delivery_id: 'd-1', received_at: '2026-01-01T00:00:00.000Z' },
        { flow_id: 'other', node_id: 'b', delivery_id: 'd-2', received_at: '2026-01-01T00:00:03.000Z' },
      ])
      .execute();
  }

  // The state still has both tables, as the earlier versions made them: one reader serves both files.
  const eventsOf = (db: StateDb | InboxDb) =>
    (db as InboxDb).selectFrom('webhook_events').select(['flow_id', 'node_id', 'record_id', 'type', 'delivery_id', 'received_at', 'processed_at']).orderBy('id').execute();
  const deliveriesOf = (db: StateDb | InboxDb) => (db as InboxDb).selectFrom('webhook_deliveries').selectAll().orderBy('flow_id').orderBy('delivery_id').execute();

  it('moves pending and processed events and delivery ids from the state to the inbox, in order, leaving none behind', async () => {
    const { state, inbox } = await memoryDbs();
    await olderState(state);
    const events = await eventsOf(state);
    const deliveries = await deliveriesOf(state);

    expect(await carryOverWebhookEvents(state, inbox)).toEqual({ events: 4, deliveries: 2 });

    expect(await eventsOf(inbox)).toEqual(events);
    expect(await deliveriesOf(inbox)).toEqual(deliveries);
    expect(await eventsOf(state)).toEqual([]);
    expect(await deliveriesOf(state)).toEqual([]);
    expect((await pendingEvents(inbox, 'people', 10)).map((event) => [event.record_id, event.type])).toEqual([
      ['2', 'delete'],
      ['1', 'upsert'],
    ]);
    // A sender repeating a delivery it made before the upgrade is still recognised.
    const repeat = { flowId: 'people', nodeId: 'a', deliveryId: 'd-1', events: [{ recordId: '1', type: 'upsert' as const }] };
    expect(await storeDeliveries(inbox, [repeat], '2026-01-01T00:10:00.000Z')).toEqual([false]);
    expect(await eventsOf(inbox)).toHaveLength(4);
    // Nothing left to move on the next start.
    expect(await carryOverWebhookEvents(state, inbox)).toEqual({ events: 0, deliveries: 0 });
  });

  it('copies again after a crash before the state was emptied, keeping each delivery id once', async () => {
    const { state, inbox } = await memoryDbs();
    await olderState(state);
    await carryOverWebhookEvents(state, inbox);
    // As if the process died between the inbox's commit and the state's delete.
    await olderState(state);

    expect(await carryOverWebhookEvents(state, inbox)).toEqual({ events: 4, deliveries: 2 });

    expect(await deliveriesOf(inbox)).toHaveLength(2);
    // The events come twice: hints only, each costing the engine one more read of the record.
    expect(await eventsOf(inbox)).toHaveLength(8);
    expect(await eventsOf(state)).toEqual([]);
  });

  it('moves a backlog of many pages in its order, and events that arrived in the inbox meanwhile stay first', async () => {
    const { state, inbox } = await memoryDbs();
    await storeDeliveries(inbox, [{ flowId: 'people', nodeId: 'a', deliveryId: 'new', events: [{ recordId: 'new', type: 'upsert' }] }], '2026-01-02T00:00:00.000Z');
    const count = 4500;
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
      insert into webhook_events (flow_id, node_id, record_id, type, delivery_id, received_at, processed_at)
      select 'people', 'a', cast(i as text), 'upsert', 'd-' || i, '2026-01-01T00:00:00.000Z', null from n`.execute(state);
    await sql`insert into webhook_deliveries (flow_id, node_id, delivery_id, received_at)
      select flow_id, node_id, delivery_id, received_at from webhook_events`.execute(state);

    expect(await carryOverWebhookEvents(state, inbox)).toEqual({ events: count, deliveries: count });

    const moved = await pendingEvents(inbox, 'people', count + 1);
    expect(moved.map((event) => event.record_id)).toEqual(['new', ...Array.from({ length: count }, (_, index) => String(index + 1))]);
    expect(await deliveriesOf(inbox)).toHaveLength(count + 1);
    expect(await eventsOf(state)).toEqual([]);
  });

  it('leaves the state as it was, and says so, when the inbox cannot take the rows', async () => {
    const { state, inbox } = await memoryDbs();
    await olderState(state);
    await sql`create trigger refuse before insert on webhook_events begin select raise(abort, 'disk full, say'); end`.execute(inbox);

    await expect(carryOverWebhookEvents(state, inbox)).rejects.toThrow(/^moving webhook events from the state to the webhook inbox failed \(nothing was removed from the state; the next start tries again\): disk full, say/);

    expect(await eventsOf(state)).toHaveLength(4);
    expect(await deliveriesOf(state)).toHaveLength(2);
    // The deliveries were copied in the same inbox transaction, so they went back with it.
    expect(await deliveriesOf(inbox)).toEqual([]);
  });
});
