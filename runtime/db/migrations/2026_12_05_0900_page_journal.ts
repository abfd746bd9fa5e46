import { sql, type Kysely } from 'kysely';
import { isSqlite, textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * The write journal becomes one row per page (issue 14, "a journal appended per page and trimmed"). Before, every
 * write was a journal row inserted `pending`, then rewritten `done` with the record it made, and older `done` rows of
 * the record were looked up and deleted: three statements' worth of index work per created record, for two purposes.
 *
 * - **Crash recovery** needs what a page meant to write only while the page is in flight: `write_ahead` holds, per
 *   page, the writes it intends (tag, side, entity, record, hash, what it sends) and the records it links before
 *   writing, as one row, deleted in the transaction that commits the page. A row that outlives its pass is the marker
 *   of a page a crash interrupted (runtime/engine/pass/recovery.ts).
 * - **Echo recognition** needs the last write made to each record: its tag and hash now sit on the record's link
 *   (`written_tag`, `written_hash`), a row the commit writes anyway.
 *
 * Existing state moves forward without loss: each link takes its record's latest completed write, and each flow's
 * pending entries become one write-ahead page, which the next pass recovers as it recovered them before.
 *
 * Runs gain `seq`, their order of recording per flow: what the delete-scan knowledge compares (knowledgeQueries.ts),
 * which read SQLite's rowid until now. Existing runs take their rowid, which is in the order they were recorded.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  await db.schema.alterTable('links').addColumn('written_tag', text).execute();
  await db.schema.alterTable('links').addColumn('written_hash', text).execute();
  await sql`update links set
      written_tag = (select j.tag from write_journal j where j.flow_id = links.flow_id and j.node_id = links.node_id and j.record_id = links.record_id and j.status = 'done' order by j.created_at desc, j.tag desc limit 1),
      written_hash = (select j.hash from write_journal j where j.flow_id = links.flow_id and j.node_id = links.node_id and j.record_id = links.record_id and j.status = 'done' order by j.created_at desc, j.tag desc limit 1)
    where exists (select 1 from write_journal j where j.flow_id = links.flow_id and j.node_id = links.node_id and j.record_id = links.record_id and j.status = 'done')`.execute(db);

  await db.schema
    .createTable('write_ahead')
    .addColumn('page', text, (column) => column.primaryKey().notNull())
    .addColumn('flow_id', text, (column) => column.notNull())
    .addColumn('created_at', text, (column) => column.notNull())
    .addColumn('writes', text, (column) => column.notNull())
    .addColumn('links', text, (column) => column.notNull())
    .execute();
  await db.schema.createIndex('write_ahead_by_flow').on('write_ahead').columns(['flow_id', 'page']).execute();

  const pending = await sql<PendingJournalRow>`select tag, flow_id, node_id, entity_id, record_id, hash, created_at, written from write_journal where status = 'pending' order by flow_id, created_at, tag`.execute(db);
  const byFlow = new Map<string, PendingJournalRow[]>();
  for (const row of pending.rows) byFlow.set(row.flow_id, [...(byFlow.get(row.flow_id) ?? []), row]);
  for (const [flowId, rows] of byFlow) {
    const first = rows[0] as PendingJournalRow;
    const writes = rows.map((row) => ({
      tag: row.tag,
      nodeId: row.node_id,
      entityId: row.entity_id,
      recordId: row.record_id,
      hash: row.hash,
      written: row.written === null ? null : (JSON.parse(row.written) as unknown),
    }));
    // The links those pages made before writing are rows of `links` already: the page carries none.
    await sql`insert into write_ahead (page, flow_id, created_at, writes, links) values (${`migrated-${first.tag}`}, ${flowId}, ${first.created_at}, ${JSON.stringify(writes)}, ${'[]'})`.execute(db);
  }
  await sql`drop index if exists journal_by_record`.execute(db);
  await db.schema.dropTable('write_journal').execute();

  await db.schema.alterTable('runs').addColumn('seq', 'integer').execute();
  // A PostgreSQL state starts at this release or later (`state copy` carries `seq` over): only SQLite has old runs.
  if (isSqlite(db)) await sql`update runs set seq = rowid`.execute(db);
  await db.schema.createIndex('runs_by_seq').on('runs').columns(['flow_id', 'seq']).execute();
}

interface PendingJournalRow {
  tag: string;
  flow_id: string;
  node_id: string;
  entity_id: string;
  record_id: string | null;
  hash: string;
  created_at: string;
  written: string | null;
}

export async function down(): Promise<void> {
  // The completed writes' hashes moved onto the links; splitting them out again would gain nothing.
}
