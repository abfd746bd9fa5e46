import type { Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * A trigger whose system refused a pass by its rate limit is held: automatic passes (a poll, a webhook batch) leave
 * its part of the flow alone until `held_until`, while the flow's other parts go on, and `held_reason` keeps what the
 * system said for the runs that skip it. Null when the trigger is not held, and for every trigger of earlier states.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('trigger_status').addColumn('held_until', textType(db)).execute();
  await db.schema.alterTable('trigger_status').addColumn('held_reason', textType(db)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('trigger_status').dropColumn('held_reason').execute();
  await db.schema.alterTable('trigger_status').dropColumn('held_until').execute();
}
