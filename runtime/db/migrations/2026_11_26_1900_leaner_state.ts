import { sql, type Kysely } from 'kysely';
import { isSqlite, textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * Every created record writes an entity, its links and journal entries; the bench's profile (bench/engine.notes.md)
 * put half of an initial sync's time in those inserts. Keyed by text, each of these tables was a rowid table plus a
 * second b-tree for its key; without rowid the key is the table, one b-tree fewer per row. The journal's index by
 * status served no query (entries are found by tag or by record) and cost two more b-tree writes per entry.
 *
 * A pending journal entry also keeps what it wrote (`written`) until it is done: after a crash, the side that got
 * the write is taken to hold exactly that, and only its changes since count as its own. The golden record cannot
 * stand in for it, because a later pass that also died may have moved it on.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists journal_by_status`.execute(db);
  // A PostgreSQL table is a heap beside its key's index whatever it is made with: only the new column applies there.
  if (!isSqlite(db)) {
    await db.schema.alterTable('write_journal').addColumn('written', textType(db)).execute();
    return;
  }

  await sql`create table entities_new (
    id text primary key not null,
    flow_id text not null,
    golden text not null,
    match_key text,
    deleted integer not null default 0,
    breaker_window_start text,
    breaker_writes integer not null default 0,
    quarantined integer not null default 0,
    created_at text not null,
    updated_at text not null
  ) without rowid`.execute(db);
  await sql`insert into entities_new select id, flow_id, golden, match_key, deleted, breaker_window_start, breaker_writes, quarantined, created_at, updated_at from entities`.execute(db);
  await sql`drop table entities`.execute(db);
  await sql`alter table entities_new rename to entities`.execute(db);
  await sql`create index entities_by_match on entities (flow_id, match_key)`.execute(db);

  await sql`create table links_new (
    flow_id text not null,
    node_id text not null,
    record_id text not null,
    entity_id text not null,
    shadow text,
    version text,
    deleted integer not null default 0,
    updated_at text not null,
    primary key (flow_id, node_id, record_id)
  ) without rowid`.execute(db);
  await sql`insert into links_new select flow_id, node_id, record_id, entity_id, shadow, version, deleted, updated_at from links`.execute(db);
  await sql`drop table links`.execute(db);
  await sql`alter table links_new rename to links`.execute(db);
  await sql`create index links_by_entity on links (entity_id, node_id)`.execute(db);

  await sql`create table write_journal_new (
    tag text primary key not null,
    flow_id text not null,
    node_id text not null,
    entity_id text not null,
    record_id text,
    hash text not null,
    status text not null,
    created_at text not null,
    written text
  ) without rowid`.execute(db);
  await sql`insert into write_journal_new (tag, flow_id, node_id, entity_id, record_id, hash, status, created_at)
    select tag, flow_id, node_id, entity_id, record_id, hash, status, created_at from write_journal`.execute(db);
  await sql`drop table write_journal`.execute(db);
  await sql`alter table write_journal_new rename to write_journal`.execute(db);
  await sql`create index journal_by_record on write_journal (flow_id, node_id, record_id)`.execute(db);
}

export async function down(): Promise<void> {
  // The tables hold the same columns either way; going back would only make them slower.
}
