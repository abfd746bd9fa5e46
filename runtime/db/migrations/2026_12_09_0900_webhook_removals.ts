import type { Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * Hooks the runtime still has to remove from their systems (runtime/scheduler/webhookRegistrations.ts): a paused,
 * changed or removed trigger's hook whose removal has not succeeded yet. Kept in the state so a restart tries again:
 * a removed flow's trigger is nowhere else, and its system would otherwise send to the runtime for good. `config` is
 * the trigger's config as JSON, which says which system, collection and credential the hook belongs to.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  await db.schema
    .createTable('webhook_removals')
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('node_id', text, (c) => c.notNull())
    .addColumn('url', text, (c) => c.notNull())
    .addColumn('config', text, (c) => c.notNull())
    .addColumn('requested_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_removals_pk', ['flow_id', 'node_id', 'url'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_removals').execute();
}
