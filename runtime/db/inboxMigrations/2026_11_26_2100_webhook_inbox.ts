import { sql, type Kysely } from 'kysely';
import { isSqlite } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * The webhook inbox: the same two tables the state held (runtime/db/migrations), in a file of their own.
 *
 * Only the pending events are indexed: the worker asks for a flow's pending events in id order (the rowid every
 * index carries gives that order) and the server, on start, for the flows that have any. Processed events are only
 * pruned, so indexing them too would cost every acknowledgement a write for no query.
 *
 * Delivery ids are looked up by their key alone, so the key is the table (without rowid): one b-tree per delivery
 * instead of a table plus an index. The index by age serves the pruning.
 *
 * On PostgreSQL the inbox lives in the state's schema (runtime/db/inbox.ts), where the state's own first migrations
 * (2026_11_26_1600 and _1730) already made both tables, in this shape, with the dialect's text and identity key: this
 * migration only gives them its index of pending events. (SQLite's statements are the ones this file always ran.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isSqlite(db)) {
    await sql`drop index if exists webhook_events_pending`.execute(db);
    await db.schema.createIndex('webhook_events_pending').on('webhook_events').column('flow_id').where(sql.ref('processed_at'), 'is', null).execute();
    return;
  }
  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('flow_id', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('record_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text')
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('processed_at', 'text')
    .execute();
  await db.schema.createIndex('webhook_events_pending').on('webhook_events').column('flow_id').where(sql.ref('processed_at'), 'is', null).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('flow_id', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_deliveries_pk', ['flow_id', 'node_id', 'delivery_id'])
    .modifyEnd(sql`without rowid`)
    .execute();
  await db.schema.createIndex('webhook_deliveries_by_age').on('webhook_deliveries').column('received_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // On PostgreSQL the tables are the state's (see up).
  if (!isSqlite(db)) return;
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhook_events').execute();
}
