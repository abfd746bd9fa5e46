import { type Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * What the last pass of a flow learned about its sides (live links, whether every record is linked), so the next pass
 * can prove that no linked record is gone by counting instead of scanning every id. It used to live only in the
 * engine's memory, so every `run --once` (a fresh process) scanned: 7.4 s at a million records.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  await db.schema
    .createTable('flow_knowledge')
    .addColumn('flow_id', text, (c) => c.primaryKey())
    .addColumn('run_id', text, (c) => c.notNull())
    .addColumn('started_at', text, (c) => c.notNull())
    .addColumn('fingerprint', text, (c) => c.notNull())
    .addColumn('sides', text, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('flow_knowledge').execute();
}
