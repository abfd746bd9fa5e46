import {
  CompiledQuery,
  type ExpressionBuilder,
  type InsertQueryBuilder,
  type InsertResult,
  type Kysely,
  type OnConflictBuilder,
  type OnConflictDatabase,
  type OnConflictTables,
  type Transaction,
} from 'kysely';
import { oneOf } from './bulk';
import type { Database, EntityRow, LinkRow } from './schema';

/** A database handle or an open transaction: every query takes one first. */
export type Db = Kysely<Database> | Transaction<Database>;

// SQLite allows 32,766 bound parameters per statement; Postgres 65,535. Chunks of 500 rows stay far below both.
const CHUNK = 500;

/** Splits a list into chunks of at most `size`. */
export function chunked<T>(items: readonly T[], size = CHUNK): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/** Links of one side for these record ids. */
export async function linksByRecord(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<LinkRow[]> {
  const rows: LinkRow[] = [];
  for (const ids of chunked(recordIds)) {
    rows.push(...(await db.selectFrom('links').selectAll().where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).execute()));
  }
  return rows;
}

/** Whether one side of a flow has any link at all, live or a tombstone. */
export async function sideHasLinks(db: Db, flowId: string, nodeId: string): Promise<boolean> {
  const row = await db.selectFrom('links').select(['record_id']).where('flow_id', '=', flowId).where('node_id', '=', nodeId).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Which of these records of one side have a live link (not a tombstone). */
export async function liveLinkedIds(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<Set<string>> {
  const live = new Set<string>();
  for (const ids of chunked(recordIds)) {
    const rows = await db.selectFrom('links').select(['record_id']).where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).where('deleted', '=', 0).execute();
    for (const row of rows) live.add(row.record_id);
  }
  return live;
}

/** Every link of these entities, on every side. */
export async function linksByEntity(db: Db, entityIds: readonly string[]): Promise<LinkRow[]> {
  const rows: LinkRow[] = [];
  for (const ids of chunked(entityIds)) rows.push(...(await db.selectFrom('links').selectAll().where('entity_id', 'in', oneOf(ids)).execute()));
  return rows;
}

export async function entitiesById(db: Db, entityIds: readonly string[]): Promise<EntityRow[]> {
  const rows: EntityRow[] = [];
  for (const ids of chunked(entityIds)) rows.push(...(await db.selectFrom('entities').selectAll().where('id', 'in', oneOf(ids)).execute()));
  return rows;
}

/** Whether a flow has any entity at all (deleted ones too): none means no link either. */
export async function flowHasEntities(db: Db, flowId: string): Promise<boolean> {
  const row = await db.selectFrom('entities').select(['id']).where('flow_id', '=', flowId).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Live entities of a flow whose normalised match values are among `keys`. */
export async function entitiesByMatchKey(db: Db, flowId: string, keys: readonly string[]): Promise<EntityRow[]> {
  const rows: EntityRow[] = [];
  for (const chunk of chunked(keys)) {
    rows.push(
      ...(await db.selectFrom('entities').selectAll().where('flow_id', '=', flowId).where('deleted', '=', 0).where('match_key', 'in', oneOf(chunk)).execute()),
    );
  }
  return rows;
}

/** Inserts rows in chunks; one statement per chunk. */
export async function insertMany<T extends keyof Database>(db: Db, table: T, rows: readonly Database[T][]): Promise<void> {
  await insertRows(db, table, rows, 'plain', (query) => query);
}

const ROWS_PER_INSERT = 256;

/**
 * Splits rows into chunks of {@link ROWS_PER_INSERT}, then the rest into chunks of falling powers of two: each table
 * and clause then has nine statement shapes at most, which the connection prepares once and reuses
 * (db/statementCache.ts), where a chunk of every other length would be compiled anew by SQLite.
 */
function insertChunks<T>(rows: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let start = 0;
  for (let size = ROWS_PER_INSERT; start < rows.length; ) {
    if (rows.length - start >= size) {
      chunks.push(rows.slice(start, start + size));
      start += size;
    } else {
      size >>= 1;
    }
  }
  return chunks;
}
/** Compiled multi-row inserts by dialect, then by shape (table, columns, conflict clause, row count). */
const compiledInserts = new WeakMap<object, Map<string, { sql: string; columns: string[] }>>();

/**
 * Inserts rows in chunks of {@link ROWS_PER_INSERT}, one statement each. Kysely builds and compiles such a statement
 * value by value, which costs more than SQLite takes to run it; so each shape is compiled once (by Kysely, for the
 * dialect at hand) and later chunks of the same shape only bind their values to it. `shape` names what `finish`
 * adds (a conflict clause); it must not depend on the rows.
 */
async function insertRows<T extends keyof Database>(
  db: Db,
  table: T,
  rows: readonly Database[T][],
  shape: string,
  finish: (query: InsertQueryBuilder<Database, T, InsertResult>) => InsertQueryBuilder<Database, T, InsertResult>,
): Promise<void> {
  if (rows.length === 0) return;
  const adapter = db.getExecutor().adapter;
  let cache = compiledInserts.get(adapter);
  if (!cache) {
    cache = new Map();
    compiledInserts.set(adapter, cache);
  }
  const columns = Object.keys(rows[0] as object).sort();
  for (const chunk of insertChunks(rows)) {
    const key = `${table}\u0000${shape}\u0000${columns.join(',')}\u0000${chunk.length}`;
    let compiled = cache.get(key);
    if (!compiled) {
      // Compiled from this chunk; Kysely gives every value a placeholder (checked below), so later chunks of the same
      // shape bind theirs in the same order.
      const sample = chunk.map((row) => Object.fromEntries(columns.map((column) => [column, (row as unknown as Record<string, unknown>)[column] ?? null])));
      // The rows are the table's own; Kysely cannot see that through the generic table name.
      const query = finish(db.insertInto(table).values(sample as never)).compile();
      if (query.parameters.length !== chunk.length * columns.length) throw new Error(`insert into ${table}: unexpected parameters in the compiled statement`);
      compiled = { sql: query.sql, columns };
      cache.set(key, compiled);
    }
    const parameters: unknown[] = [];
    for (const row of chunk) {
      const values = row as unknown as Record<string, unknown>;
      if (Object.keys(values).length !== columns.length) throw new Error(`insert into ${table}: rows must all have the same columns`);
      for (const column of compiled.columns) parameters.push(values[column] ?? null);
    }
    await db.executeQuery(CompiledQuery.raw(compiled.sql, parameters));
  }
}

/**
 * Inserts links or, where the link exists, replaces what it says (entity, shadow and its hash, version, deleted): one
 * statement per chunk. A key given twice keeps its last row, as one statement per row would. The runtime's last write
 * to the record (`written_tag`, `written_hash`) is replaced only by a row that carries one: a save after a pass that
 * did not write the record keeps the mark of the write that did.
 *
 * `stays`: rows the caller knows to be stored under the same entity already (the link it read), as nearly every link
 * a pass saves is. Those are updated without naming `entity_id`: SQLite rewrites the index entry of every indexed
 * column an upsert sets, to the same value or not, so naming it dirtied a page of `links_by_entity` per link on top of
 * the link's own (1,856 WAL frames against 966 for 1,000 links saved, bench/engine.notes.md, eighth round). Reading
 * that here instead of being told cost more than the pages it saved.
 */
export async function upsertLinks(db: Db, rows: readonly LinkRow[], stays: (row: LinkRow) => boolean = () => false): Promise<void> {
  const byKey = new Map<string, LinkRow>();
  for (const row of rows) {
    const key = `${row.flow_id}\u0000${row.node_id}\u0000${row.record_id}`;
    // Delete first so the map keeps the order of the last write of each key.
    byKey.delete(key);
    byKey.set(key, row);
  }
  const keep = (eb: ExpressionBuilder<OnConflictDatabase<Database, 'links'>, OnConflictTables<'links'>>) => ({
    shadow: eb.ref('excluded.shadow'),
    shadow_hash: eb.ref('excluded.shadow_hash'),
    version: eb.ref('excluded.version'),
    deleted: eb.ref('excluded.deleted'),
    updated_at: eb.ref('excluded.updated_at'),
    written_tag: eb.fn.coalesce('excluded.written_tag', 'links.written_tag'),
    written_hash: eb.fn.coalesce('excluded.written_hash', 'links.written_hash'),
  });
  const onKey = (oc: OnConflictBuilder<Database, 'links'>) => oc.columns(['flow_id', 'node_id', 'record_id']);
  const staying: LinkRow[] = [];
  const others: LinkRow[] = [];
  for (const row of byKey.values()) (stays(row) ? staying : others).push(row);
  await insertRows(db, 'links', staying, 'upsert, same entity', (query) => query.onConflict((oc) => onKey(oc).doUpdateSet(keep)));
  await insertRows(db, 'links', others, 'upsert', (query) =>
    query.onConflict((oc) => onKey(oc).doUpdateSet((eb) => ({ entity_id: eb.ref('excluded.entity_id'), ...keep(eb) }))),
  );
}

/** Deletes the links of these records of one side. */
export async function deleteLinks(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<void> {
  for (const ids of chunked(recordIds)) {
    await db.deleteFrom('links').where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).execute();
  }
}

/** Marks the links of these records of one side as tombstones: the record is gone there and must not come back. */
export async function markLinksDeleted(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<void> {
  for (const ids of chunked(recordIds)) {
    await db.updateTable('links').set({ deleted: 1 }).where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).execute();
  }
}

/**
 * Writes entities that exist already: golden record and its provenance, deleted flag, breaker bookkeeping and
 * updated_at. One upsert per chunk instead of one update per entity; the rows are whole, so an entity that is somehow
 * gone comes back.
 */
export async function saveEntityRows(db: Db, rows: readonly EntityRow[]): Promise<void> {
  // One row per id, the last: PostgreSQL refuses an upsert that touches a row twice, where SQLite keeps the last.
  const byId = new Map<string, EntityRow>();
  for (const row of rows) {
    byId.delete(row.id);
    byId.set(row.id, row);
  }
  await insertRows(db, 'entities', [...byId.values()], 'save', (query) =>
    query.onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        golden: eb.ref('excluded.golden'),
        provenance: eb.ref('excluded.provenance'),
        deleted: eb.ref('excluded.deleted'),
        breaker_writes: eb.ref('excluded.breaker_writes'),
        breaker_window_start: eb.ref('excluded.breaker_window_start'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    ),
  );
}

/**
 * Forgets the runtime's last write to these records of one side (`written_tag`, `written_hash`): its echo was counted,
 * and a later listing of the record must not count it again.
 */
export async function clearWrittenMarks(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<void> {
  for (const ids of chunked(recordIds)) {
    await db
      .updateTable('links')
      .set({ written_tag: null, written_hash: null })
      .where('flow_id', '=', flowId)
      .where('node_id', '=', nodeId)
      .where('record_id', 'in', oneOf(ids))
      .execute();
  }
}

/** Inserts links that do not exist yet; a link that does is left as it is. */
export async function insertMissingLinks(db: Db, rows: readonly LinkRow[]): Promise<void> {
  await insertRows(db, 'links', rows, 'missing', (query) => query.onConflict((oc) => oc.columns(['flow_id', 'node_id', 'record_id']).doNothing()));
}

/** Forgets that these records of one side were failing. */
export async function clearFailing(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<void> {
  for (const ids of chunked(recordIds)) {
    await db.deleteFrom('failing_records').where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).execute();
  }
}

/** Live links of one side. */
export async function countLiveLinks(db: Db, flowId: string, nodeId: string): Promise<number> {
  const row = await db
    .selectFrom('links')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('flow_id', '=', flowId)
    .where('node_id', '=', nodeId)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
