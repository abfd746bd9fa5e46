import type { Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * A trigger whose system refused a pass by its rate limit is held (runtime/engine/pass/holds.ts): `held_at` when it
 * was refused, `held_until` when the system said to come back, `held_reason` what it said. Automatic passes (a poll,
 * a webhook batch) leave its part of the flow alone meanwhile, a minute at a time, while the flow's other parts go
 * on. Null when the trigger is not held, and for every trigger of earlier states.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['held_at', 'held_until', 'held_reason']) await db.schema.alterTable('trigger_status').addColumn(column, textType(db)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['held_reason', 'held_until', 'held_at']) await db.schema.alterTable('trigger_status').dropColumn(column).execute();
}
