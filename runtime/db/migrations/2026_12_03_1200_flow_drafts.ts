import { type Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * Nothing a person draws is lost, and what runs changes only on Deploy.
 *
 * - `flow_drafts`: the editor's work in progress, saved as it is typed, one per flow id. A draft need not be a valid
 *   flow (a half-built graph is the normal state while building) and its flow need not be stored yet: it is the
 *   canonical bytes of whatever the canvas holds. Deploying a flow whose draft it equals removes the draft.
 * - `flow_versions`: every document a flow ran with, numbered from 1 per flow: one is added when a flow is deployed,
 *   or replaced while deployed, with a document other than its last version. The editor restores one as a draft.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  await db.schema
    .createTable('flow_drafts')
    .addColumn('flow_id', text, (c) => c.primaryKey())
    .addColumn('document', text, (c) => c.notNull())
    .addColumn('saved_at', text, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('flow_versions')
    .addColumn('flow_id', text, (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('document', text, (c) => c.notNull())
    .addColumn('deployed_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('flow_versions_pk', ['flow_id', 'version'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('flow_versions').execute();
  await db.schema.dropTable('flow_drafts').execute();
}
