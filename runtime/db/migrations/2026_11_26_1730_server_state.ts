import { sql, type Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  // One delivery may carry an array of events, so delivery ids are deduplicated in a table of their own rather
  // than by a unique index over the events (which would refuse the second event of the same delivery).
  await sql`drop index if exists webhook_events_delivery`.execute(db);
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('delivery_id', text, (c) => c.notNull())
    .addColumn('received_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_deliveries_pk', ['flow_id', 'node_id', 'delivery_id'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_by_age').on('webhook_deliveries').columns(['received_at']).execute();

  // When each trigger last took part in a finished pass, for the editor's per-node status.
  await db.schema
    .createTable('trigger_status')
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('last_pass_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('trigger_status_pk', ['flow_id', 'node_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('trigger_status').execute();
  await db.schema.dropTable('webhook_deliveries').execute();
  await sql`create unique index webhook_events_delivery on webhook_events (flow_id, node_id, delivery_id)`.execute(db);
}
