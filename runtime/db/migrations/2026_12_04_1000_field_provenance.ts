import { type Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * Where each value of a golden record came from (issue 15, "Where did this value come from?"): per field, the side and
 * the pass that last set it, the value before and after, when, and the rule that decided it (runtime/engine/provenance.ts).
 *
 * A column of the entity, not rows of their own: the pass writes it in the statement that already saves the golden
 * record, so keeping it adds no row per record to the state. Null until a field of the entity changes: entities of
 * state files from before this migration start without provenance and gain it field by field as their fields change.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  await db.schema.alterTable('entities').addColumn('provenance', text).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('entities').dropColumn('provenance').execute();
}
