import { type Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * A side without a change feed is listed whole on every pass (snapshot change detection, runtime/engine/snapshot.ts),
 * and each listed record is compared with its shadow. Parsing every shadow to compare it cost more than listing the
 * record; a hash of the shadow (`shadowHash`, runtime/engine/snapshot.ts) makes the comparison one string equality.
 *
 * Null where no hash was taken: links saved before this migration, and links of sides that have a change feed (their
 * records are compared only when their version moves, so the hash would be paid for and never read). A pass that
 * compares such a link parses its shadow once and stores the hash then.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  await db.schema.alterTable('links').addColumn('shadow_hash', text).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('links').dropColumn('shadow_hash').execute();
}
