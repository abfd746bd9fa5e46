import { sql, type Kysely } from 'kysely';
import { isSqlite, textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * One row per linked entity (issue 14, "one row per linked entity holding its links and shadows"). A link's shadow,
 * its hash, version and the runtime's last write to it move from the link's row into its entity's new `sides` column
 * (node id → record id → that state, runtime/db/entitySides.ts), and `links` keeps what finds and counts a link: flow,
 * node, record, entity and the tombstone flag. A change to a linked record then rewrites its entity's row only, where
 * it rewrote the entity and a link on every side (bench/engine.notes.md, ninth round).
 *
 * Nothing is lost: every link's state is copied into its entity before the columns go, a chunk of entities at a time,
 * with the same entries the runtime writes (null fields left out). A link whose entity row is missing keeps its narrow
 * row and reads as a link with nothing synced, as it would have read its null shadow.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (isSqlite(db)) {
    // A rowid table now, where it was WITHOUT ROWID: SQLite stores such a table as an index b-tree, which keeps a row
    // on its page only up to about a quarter of it (1,002 bytes of 4,096) and copies whole rows into its interior
    // pages. An entity with its links' state is 800 to 1,000 bytes for four fields: as WITHOUT ROWID, a 20,000-entity
    // state had 2,868 overflow and 1,313 interior pages, and a change wrote 4 pages instead of 2 (engine notes, ninth
    // round). A rowid table keeps rows up to 4,061 bytes on their leaf, and its key's index is written on insert only.
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
      updated_at text not null,
      provenance text,
      sides text not null default '{}'
    )`.execute(db);
    await sql`insert into entities_new (id, flow_id, golden, match_key, deleted, breaker_window_start, breaker_writes, quarantined, created_at, updated_at, provenance)
      select id, flow_id, golden, match_key, deleted, breaker_window_start, breaker_writes, quarantined, created_at, updated_at, provenance from entities order by id`.execute(db);
    await sql`drop table entities`.execute(db);
    await sql`alter table entities_new rename to entities`.execute(db);
    await sql`create index entities_by_match on entities (flow_id, match_key)`.execute(db);
  } else {
    await db.schema
      .alterTable('entities')
      .addColumn('sides', textType(db), (column) => column.notNull().defaultTo('{}'))
      .execute();
  }

  let after = '';
  for (;;) {
    const { rows: entities } = await sql<{ id: string }>`select id from entities where id > ${after} order by id limit ${CHUNK}`.execute(db);
    if (entities.length === 0) break;
    after = (entities.at(-1) as { id: string }).id;
    const ids = entities.map((entity) => entity.id);
    const { rows: links } = await sql<OldLink>`select entity_id, node_id, record_id, shadow, shadow_hash, version, deleted, updated_at, written_tag, written_hash
      from links where entity_id in (${sql.join(ids)}) order by entity_id, node_id, record_id`.execute(db);
    if (links.length === 0) continue;
    const sides = new Map<string, Record<string, Record<string, Record<string, unknown>>>>();
    for (const link of links) {
      const entity = sides.get(link.entity_id) ?? {};
      sides.set(link.entity_id, entity);
      (entity[link.node_id] ??= {})[link.record_id] = storedEntry(link);
    }
    // One statement per chunk, in SQL both databases take: `case id when … then … end` over the chunk's ids.
    const cases = [...sides].map(([id, value]) => sql`when ${id} then ${JSON.stringify(value)}`);
    await sql`update entities set sides = case id ${sql.join(cases, sql` `)} end where id in (${sql.join([...sides.keys()])})`.execute(db);
  }

  if (isSqlite(db)) {
    // SQLite drops a column by rewriting the table once per column: one rewrite, as the leaner-state migration did.
    await sql`create table links_new (
      flow_id text not null,
      node_id text not null,
      record_id text not null,
      entity_id text not null,
      deleted integer not null default 0,
      primary key (flow_id, node_id, record_id)
    ) without rowid`.execute(db);
    await sql`insert into links_new select flow_id, node_id, record_id, entity_id, deleted from links`.execute(db);
    await sql`drop table links`.execute(db);
    await sql`alter table links_new rename to links`.execute(db);
    await sql`create index links_by_entity on links (entity_id, node_id)`.execute(db);
  } else {
    for (const column of ['shadow', 'shadow_hash', 'version', 'updated_at', 'written_tag', 'written_hash']) await db.schema.alterTable('links').dropColumn(column).execute();
  }
}

/** Entities per statement while their links' state is copied. */
const CHUNK = 500;

interface OldLink {
  entity_id: string;
  node_id: string;
  record_id: string;
  shadow: string | null;
  shadow_hash: string | null;
  version: string | null;
  deleted: number;
  updated_at: string;
  written_tag: string | null;
  written_hash: string | null;
}

/** A link's entry in its entity's sides, as runtime/db/entitySides.ts `storedLink` writes it. */
function storedEntry(link: OldLink): Record<string, unknown> {
  const entry: Record<string, unknown> = { updated_at: link.updated_at };
  for (const field of ['shadow', 'shadow_hash', 'version', 'written_tag', 'written_hash'] as const) if (link[field] !== null) entry[field] = link[field];
  if (Number(link.deleted)) entry.deleted = 1;
  return entry;
}

export async function down(): Promise<void> {
  // The links' state lives in their entities now; splitting it back into wide link rows would gain nothing.
}
