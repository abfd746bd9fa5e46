import { sql, type Kysely } from 'kysely';
import { serialKey, textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

export async function up(db: Kysely<unknown>): Promise<void> {
  // What differs on PostgreSQL (dialect.ts): text compared bytewise, and a bigint identity for SQLite's rowid keys.
  const text = textType(db);
  const key = serialKey(db);
  await db.schema
    .createTable('flows')
    .addColumn('id', text, (c) => c.primaryKey())
    .addColumn('document', text, (c) => c.notNull())
    .addColumn('deployed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('alert_url', text)
    .addColumn('created_at', text, (c) => c.notNull())
    .addColumn('updated_at', text, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('entities')
    .addColumn('id', text, (c) => c.primaryKey())
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('golden', text, (c) => c.notNull())
    .addColumn('match_key', text)
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('breaker_window_start', text)
    .addColumn('breaker_writes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('quarantined', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', text, (c) => c.notNull())
    .addColumn('updated_at', text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('entities_by_match').on('entities').columns(['flow_id', 'match_key']).execute();

  await db.schema
    .createTable('links')
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('record_id', text, (c) => c.notNull())
    .addColumn('entity_id', text, (c) => c.notNull())
    .addColumn('shadow', text)
    .addColumn('version', text)
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('links_pk', ['flow_id', 'node_id', 'record_id'])
    .execute();
  await db.schema.createIndex('links_by_entity').on('links').columns(['entity_id', 'node_id']).execute();

  await db.schema
    .createTable('cursors')
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('since', text)
    .addColumn('seen', text, (c) => c.notNull())
    .addColumn('updated_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('cursors_pk', ['flow_id', 'node_id'])
    .execute();

  await db.schema
    .createTable('write_journal')
    .addColumn('tag', text, (c) => c.primaryKey())
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('entity_id', text, (c) => c.notNull())
    .addColumn('record_id', text)
    .addColumn('hash', text, (c) => c.notNull())
    .addColumn('status', text, (c) => c.notNull())
    .addColumn('created_at', text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('journal_by_record').on('write_journal').columns(['flow_id', 'node_id', 'record_id']).execute();
  await db.schema.createIndex('journal_by_status').on('write_journal').columns(['flow_id', 'status']).execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', text, (c) => c.primaryKey())
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('started_at', text, (c) => c.notNull())
    .addColumn('finished_at', text)
    .addColumn('status', text, (c) => c.notNull())
    .addColumn('reason', text, (c) => c.notNull())
    .addColumn('dry_run', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('summary', text)
    .addColumn('error', text)
    .execute();
  await db.schema.createIndex('runs_by_flow').on('runs').columns(['flow_id', 'started_at']).execute();

  await db.schema
    .createTable('run_log')
    .addColumn('id', key.type, key.build)
    .addColumn('run_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('record_id', text)
    .addColumn('entity_id', text)
    .addColumn('outcome', text, (c) => c.notNull())
    .addColumn('fields', text)
    .addColumn('message', text)
    .addColumn('at', text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('run_log_by_run').on('run_log').columns(['run_id']).execute();

  await db.schema
    .createTable('conflicts')
    .addColumn('id', text, (c) => c.primaryKey())
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('entity_id', text)
    .addColumn('kind', text, (c) => c.notNull())
    .addColumn('field', text)
    .addColumn('base', text)
    .addColumn('sides', text, (c) => c.notNull())
    .addColumn('status', text, (c) => c.notNull())
    .addColumn('resolution', text)
    .addColumn('created_at', text, (c) => c.notNull())
    .addColumn('resolved_at', text)
    .execute();
  await db.schema.createIndex('conflicts_by_flow').on('conflicts').columns(['flow_id', 'status']).execute();
  await db.schema.createIndex('conflicts_by_entity').on('conflicts').columns(['entity_id', 'status']).execute();

  await db.schema
    .createTable('failing_records')
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('record_id', text, (c) => c.notNull())
    .addColumn('entity_id', text)
    .addColumn('error', text, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('first_failed_at', text, (c) => c.notNull())
    .addColumn('last_failed_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('failing_pk', ['flow_id', 'node_id', 'record_id'])
    .execute();

  await db.schema
    .createTable('credentials')
    .addColumn('name', text, (c) => c.primaryKey())
    .addColumn('type', text, (c) => c.notNull())
    .addColumn('value_encrypted', text, (c) => c.notNull())
    .addColumn('created_at', text, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', key.type, key.build)
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('record_id', text, (c) => c.notNull())
    .addColumn('type', text, (c) => c.notNull())
    .addColumn('delivery_id', text)
    .addColumn('received_at', text, (c) => c.notNull())
    .addColumn('processed_at', text)
    .execute();
  await db.schema.createIndex('webhook_events_pending').on('webhook_events').columns(['flow_id', 'processed_at']).execute();
  await sql`create unique index webhook_events_delivery on webhook_events (flow_id, node_id, delivery_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['webhook_events', 'credentials', 'failing_records', 'conflicts', 'run_log', 'runs', 'write_journal', 'cursors', 'links', 'entities', 'flows']) {
    await db.schema.dropTable(table).execute();
  }
}
