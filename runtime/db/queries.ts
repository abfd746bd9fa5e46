import type { Kysely, Transaction } from 'kysely';
import type { Database, EntityRow, JournalRow, LinkRow } from './schema';

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
    rows.push(...(await db.selectFrom('links').selectAll().where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', ids).execute()));
  }
  return rows;
}

/** Every link of these entities, on every side. */
export async function linksByEntity(db: Db, entityIds: readonly string[]): Promise<LinkRow[]> {
  const rows: LinkRow[] = [];
  for (const ids of chunked(entityIds)) rows.push(...(await db.selectFrom('links').selectAll().where('entity_id', 'in', ids).execute()));
  return rows;
}

export async function entitiesById(db: Db, entityIds: readonly string[]): Promise<EntityRow[]> {
  const rows: EntityRow[] = [];
  for (const ids of chunked(entityIds)) rows.push(...(await db.selectFrom('entities').selectAll().where('id', 'in', ids).execute()));
  return rows;
}

/** Live entities of a flow whose normalised match values are among `keys`. */
export async function entitiesByMatchKey(db: Db, flowId: string, keys: readonly string[]): Promise<EntityRow[]> {
  const rows: EntityRow[] = [];
  for (const chunk of chunked(keys)) {
    rows.push(
      ...(await db.selectFrom('entities').selectAll().where('flow_id', '=', flowId).where('deleted', '=', 0).where('match_key', 'in', chunk).execute()),
    );
  }
  return rows;
}

export async function journalByTags(db: Db, tags: readonly string[]): Promise<JournalRow[]> {
  const rows: JournalRow[] = [];
  for (const chunk of chunked(tags)) rows.push(...(await db.selectFrom('write_journal').selectAll().where('tag', 'in', chunk).execute()));
  return rows;
}

/** The latest completed write to each of these records, to recognise echoes on sides that cannot store a tag. */
export async function journalByRecord(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<JournalRow[]> {
  const rows: JournalRow[] = [];
  for (const ids of chunked(recordIds)) {
    rows.push(
      ...(await db
        .selectFrom('write_journal')
        .selectAll()
        .where('flow_id', '=', flowId)
        .where('node_id', '=', nodeId)
        .where('status', '=', 'done')
        .where('record_id', 'in', ids)
        .execute()),
    );
  }
  return rows;
}

/** Inserts rows in chunks; one statement per chunk. */
export async function insertMany<T extends keyof Database>(db: Db, table: T, rows: readonly Database[T][]): Promise<void> {
  for (const chunk of chunked(rows, 200)) {
    // The row type is the table's own; Kysely cannot see that through the generic table name.
    await db.insertInto(table).values(chunk as never).execute();
  }
}
