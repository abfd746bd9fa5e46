import type { Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * Which process ran each pass: in a cluster (state on PostgreSQL) the members take passes in turn, and a run's
 * process tells a person where to look for its logs. Null for the runs of a single process and for earlier runs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('process', textType(db)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('process').execute();
}
