import {
  CompiledQuery,
  sql,
  type InsertQueryBuilder,
  type InsertResult,
  type Insertable,
  type Kysely,
  type Transaction,
} from 'kysely';
import { groupInto } from '../util/collections';
import { oneOf } from './bulk';
import { linkFromSides, linksOfSides, parseSides, removeLink, serializeSides, setLink, storedLink, storedOf, type EntitySides } from './entitySides';
import type { Database, EntityRow, LinkRow, LinksTable } from './schema';

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

/**
 * Every link, each narrow row joined to its entity's sides (read them whole with `linkFromSides`): narrow further with
 * `where` on the links table's columns.
 */
export function selectLinks(db: Db) {
  return db
    .selectFrom('links')
    .leftJoin('entities', 'entities.id', 'links.entity_id')
    .select(['links.flow_id', 'links.node_id', 'links.record_id', 'links.entity_id', 'links.deleted', 'entities.sides']);
}

/**
 * Links of one side for these record ids: each narrow row with its state from its entity's sides, in one statement per
 * chunk.
 */
export async function linksByRecord(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<LinkRow[]> {
  const rows: LinkRow[] = [];
  for (const ids of chunked(recordIds)) {
    const found = await selectLinks(db).where('links.flow_id', '=', flowId).where('links.node_id', '=', nodeId).where('links.record_id', 'in', oneOf(ids)).execute();
    const parsed = new Map<string, EntitySides>();
    for (const row of found) {
      let sides = parsed.get(row.entity_id);
      if (!sides) parsed.set(row.entity_id, (sides = parseSides(row.sides)));
      rows.push(linkFromSides(sides, row));
    }
  }
  return rows;
}

/** A record's narrow link row, as the link writes read it: its entity and its tombstone flag. */
type NarrowLink = { entityId: string; deleted: number };

/** The narrow rows of these records of one side that are linked (live or a tombstone): record id → entity and flag. */
async function narrowLinks(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<Map<string, NarrowLink>> {
  const found = new Map<string, NarrowLink>();
  for (const ids of chunked(recordIds)) {
    const rows = await db.selectFrom('links').select(['record_id', 'entity_id', 'deleted']).where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).execute();
    for (const row of rows) found.set(row.record_id, { entityId: row.entity_id, deleted: row.deleted });
  }
  return found;
}

/** The entity of each of these records of one side that is linked (live or a tombstone): record id → entity id. */
export async function linkedEntityIds(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<Map<string, string>> {
  const entities = new Map<string, string>();
  for (const [recordId, { entityId }] of await narrowLinks(db, flowId, nodeId, recordIds)) entities.set(recordId, entityId);
  return entities;
}

/**
 * Live links gained (or lost, when negative) per side, for a pass that keeps count of a side's links instead of
 * counting them (runtime/engine/pass/sideKnowledge.ts). The link writes below add to it from the rows they read anyway.
 */
export type LiveLinkDelta = Map<string, number>;

function addLive(delta: LiveLinkDelta | null, nodeId: string, gained: number): void {
  if (delta) delta.set(nodeId, (delta.get(nodeId) ?? 0) + gained);
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

/** Every link of these entities, on every side, as their rows' sides hold them. */
export async function linksByEntity(db: Db, entityIds: readonly string[]): Promise<LinkRow[]> {
  const rows: LinkRow[] = [];
  for (const ids of chunked(entityIds)) {
    for (const entity of await db.selectFrom('entities').select(['id', 'flow_id', 'sides']).where('id', 'in', oneOf(ids)).execute()) rows.push(...linksOfSides(entity));
  }
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
export async function insertMany<T extends keyof Database>(db: Db, table: T, rows: readonly Insertable<Database[T]>[]): Promise<void> {
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
/** Statements of one kind compiled for the dialect `db` runs on (its adapter), created on first use. */
function dialectCache<K, V>(caches: WeakMap<object, Map<K, V>>, db: Db): Map<K, V> {
  const adapter = db.getExecutor().adapter;
  let cache = caches.get(adapter);
  if (!cache) caches.set(adapter, (cache = new Map()));
  return cache;
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
  rows: readonly Insertable<Database[T]>[],
  shape: string,
  finish: (query: InsertQueryBuilder<Database, T, InsertResult>) => InsertQueryBuilder<Database, T, InsertResult>,
): Promise<void> {
  if (rows.length === 0) return;
  const cache = dialectCache(compiledInserts, db);
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
 * The sides of some entities, read once, changed in memory and written back (setEntitySides): how every write of a
 * link keeps an entity's sides in step with its narrow rows, in the same transaction. Only `id` and `sides` are read
 * and written; an entity that is not found has no sides to change.
 */
class SidesEdit {
  private readonly sides = new Map<string, EntitySides>();
  private readonly touched = new Set<string>();
  constructor(private readonly db: Db) {}

  async load(entityIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(entityIds)].filter((id) => !this.sides.has(id));
    for (const ids of chunked(missing)) {
      for (const row of await this.db.selectFrom('entities').select(['id', 'sides']).where('id', 'in', oneOf(ids)).execute()) this.sides.set(row.id, parseSides(row.sides));
    }
  }

  /** An entity's sides to change, if it was found; the change is written by `save`. */
  change(entityId: string): EntitySides | undefined {
    const sides = this.sides.get(entityId);
    if (sides) this.touched.add(entityId);
    return sides;
  }

  /** An entity's sides to read, if it was found. */
  read(entityId: string): EntitySides | undefined {
    return this.sides.get(entityId);
  }

  async save(): Promise<void> {
    const rows: { id: string; sides: string }[] = [];
    for (const id of this.touched) rows.push({ id, sides: serializeSides(this.sides.get(id) as EntitySides) });
    this.touched.clear();
    await setEntitySides(this.db, rows);
  }
}

/** Compiled `setEntitySides` statements by dialect, then by row count. */
const compiledSidesUpdates = new WeakMap<object, Map<number, string>>();

/**
 * Sets the `sides` of existing entities, one statement per chunk that both databases run: the chunk as a `values` list
 * joined to the table by id (`with v(id, sides) as (values …) update … from v`). An upsert of whole rows, which this
 * replaced, bound every entity's golden record and provenance only to set `sides`; a `case id when … then …` over the
 * chunk compares each row with every id of the chunk (bench/postgres.notes.md, 2026-12-04). Chunks take
 * insertChunks' sizes, so each is compiled once per dialect.
 */
export async function setEntitySides(db: Db, rows: readonly { id: string; sides: string }[]): Promise<void> {
  if (rows.length === 0) return;
  const cache = dialectCache(compiledSidesUpdates, db);
  for (const chunk of insertChunks(rows)) {
    let compiled = cache.get(chunk.length);
    if (!compiled) {
      const values = sql.join(chunk.map((row) => sql`(${row.id}, ${row.sides})`));
      const query = sql`with v(id, sides) as (values ${values}) update entities set sides = v.sides from v where entities.id = v.id`.compile(db);
      if (query.parameters.length !== chunk.length * 2) throw new Error('update entities: unexpected parameters in the compiled statement');
      compiled = query.sql;
      cache.set(chunk.length, compiled);
    }
    const parameters: unknown[] = [];
    for (const row of chunk) parameters.push(row.id, row.sides);
    await db.executeQuery(CompiledQuery.raw(compiled, parameters));
  }
}

/** A link's narrow row. */
function narrowOf(row: LinkRow): LinksTable {
  return { flow_id: row.flow_id, node_id: row.node_id, record_id: row.record_id, entity_id: row.entity_id, deleted: row.deleted };
}

/** Inserts narrow rows, or where one exists, points it at its entity and sets its tombstone flag. */
async function upsertNarrowLinks(db: Db, rows: readonly LinksTable[]): Promise<void> {
  await insertRows(db, 'links', rows, 'upsert', (query) =>
    query.onConflict((oc) =>
      oc.columns(['flow_id', 'node_id', 'record_id']).doUpdateSet((eb) => ({ entity_id: eb.ref('excluded.entity_id'), deleted: eb.ref('excluded.deleted') })),
    ),
  );
}

/**
 * Inserts links or, where the link exists, replaces what it says (entity, shadow and its hash, version, deleted). A key
 * given twice keeps its last row, as one statement per row would. The runtime's last write to the record
 * (`written_tag`, `written_hash`) is replaced only by a row that carries one: a save after a pass that did not write
 * the record keeps the mark of the write that did.
 *
 * A link its entity's sides hold already, with the same tombstone flag, changes its entity's row only: its narrow row
 * says the same as before and is not written (bench/engine.notes.md, ninth round). New links, and links that move to
 * another entity (leaving the old one's sides), write their narrow rows too. With `delta`, counts the live links each
 * side gains or loses, from what the entities' sides and the narrow rows read here say.
 */
export async function upsertLinks(db: Db, rows: readonly LinkRow[], delta: LiveLinkDelta | null = null): Promise<void> {
  const byKey = new Map<string, LinkRow>();
  for (const row of rows) {
    const key = `${row.flow_id}\u0000${row.node_id}\u0000${row.record_id}`;
    // Delete first so the map keeps the order of the last write of each key.
    byKey.delete(key);
    byKey.set(key, row);
  }
  if (byKey.size === 0) return;
  const edit = new SidesEdit(db);
  await edit.load([...byKey.values()].map((row) => row.entity_id));
  const narrow: LinksTable[] = [];
  const elsewhere: LinkRow[] = [];
  for (const row of byKey.values()) {
    const before = storedOf(edit.read(row.entity_id) ?? {}, row.node_id, row.record_id);
    if (!before) {
      elsewhere.push(row);
      continue;
    }
    // Its entity's sides say what its narrow row says.
    addLive(delta, row.node_id, Number(row.deleted === 0) - Number((before.deleted ?? 0) === 0));
    if ((before.deleted ?? 0) !== row.deleted) narrow.push(narrowOf(row));
  }
  // Links not under their entity yet: new, or moving from another entity, whose sides give up the link and its mark.
  const earlier = new Map<LinkRow, ReturnType<typeof storedOf>>();
  if (elsewhere.length > 0) {
    const byFlowNode = new Map<string, LinkRow[]>();
    for (const row of elsewhere) groupInto(byFlowNode, `${row.flow_id}\u0000${row.node_id}`, row);
    const previous = new Map<LinkRow, string>();
    for (const group of byFlowNode.values()) {
      const first = group[0] as LinkRow;
      const found = await narrowLinks(db, first.flow_id, first.node_id, group.map((row) => row.record_id));
      for (const row of group) {
        const stored = found.get(row.record_id);
        addLive(delta, row.node_id, Number(row.deleted === 0) - Number(stored?.deleted === 0));
        if (stored !== undefined && stored.entityId !== row.entity_id) previous.set(row, stored.entityId);
      }
    }
    await edit.load(previous.values());
    for (const [row, entityId] of previous) {
      const sides = edit.change(entityId);
      earlier.set(row, sides && storedOf(sides, row.node_id, row.record_id));
      if (sides) removeLink(sides, row.node_id, row.record_id);
    }
    narrow.push(...elsewhere.map(narrowOf));
  }
  for (const row of byKey.values()) {
    const sides = edit.change(row.entity_id);
    if (!sides) continue;
    const before = earlier.get(row) ?? storedOf(sides, row.node_id, row.record_id);
    const stored = storedLink(row);
    if (row.written_tag === null && before?.written_tag !== undefined) stored.written_tag = before.written_tag;
    if (row.written_hash === null && before?.written_hash !== undefined) stored.written_hash = before.written_hash;
    setLink(sides, row.node_id, row.record_id, stored);
  }
  await upsertNarrowLinks(db, narrow);
  await edit.save();
}

/** Counts the live links among these as lost: a write is ending them (removing them, or making them tombstones). */
function countEnded(found: ReadonlyMap<string, NarrowLink>, nodeId: string, delta: LiveLinkDelta | null): void {
  let live = 0;
  for (const { deleted } of found.values()) if (deleted === 0) live++;
  addLive(delta, nodeId, -live);
}

/** Deletes the links of these records of one side; with `delta`, counts the live ones lost. */
export async function deleteLinks(db: Db, flowId: string, nodeId: string, recordIds: readonly string[], delta: LiveLinkDelta | null = null): Promise<void> {
  const entities = await narrowLinks(db, flowId, nodeId, recordIds);
  countEnded(entities, nodeId, delta);
  for (const ids of chunked([...entities.keys()])) {
    await db.deleteFrom('links').where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).execute();
  }
  await editLinks(db, nodeId, entities, (sides, recordId) => void removeLink(sides, nodeId, recordId));
}

/**
 * Marks the links of these records of one side as tombstones: the record is gone there and must not come back. With
 * `delta`, counts the live ones lost.
 */
export async function markLinksDeleted(db: Db, flowId: string, nodeId: string, recordIds: readonly string[], delta: LiveLinkDelta | null = null): Promise<void> {
  const entities = await narrowLinks(db, flowId, nodeId, recordIds);
  countEnded(entities, nodeId, delta);
  for (const ids of chunked([...entities.keys()])) {
    await db.updateTable('links').set({ deleted: 1 }).where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('record_id', 'in', oneOf(ids)).execute();
  }
  await editLinks(db, nodeId, entities, (sides, recordId) => setLink(sides, nodeId, recordId, { ...(storedOf(sides, nodeId, recordId) ?? { updated_at: '' }), deleted: 1 }));
}

/**
 * Forgets the runtime's last write to these records of one side (`written_tag`, `written_hash`): its echo was counted,
 * and a later listing of the record must not count it again.
 */
export async function clearWrittenMarks(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<void> {
  const entities = await narrowLinks(db, flowId, nodeId, recordIds);
  await editLinks(db, nodeId, entities, (sides, recordId) => {
    const stored = storedOf(sides, nodeId, recordId);
    if (!stored) return;
    const { written_tag: _tag, written_hash: _hash, ...kept } = stored;
    setLink(sides, nodeId, recordId, kept);
  });
}

/** Stores the hashes of shadows that had none, where the shadow is still the one hashed (snapshotQueries.ts). */
export async function storeLinkShadowHashes(db: Db, flowId: string, nodeId: string, hashes: ReadonlyArray<{ recordId: string; shadow: string; hash: string }>): Promise<void> {
  const entities = await narrowLinks(db, flowId, nodeId, hashes.map((entry) => entry.recordId));
  const wanted = new Map(hashes.map((entry) => [entry.recordId, entry]));
  await editLinks(db, nodeId, entities, (sides, recordId) => {
    const stored = storedOf(sides, nodeId, recordId);
    const entry = wanted.get(recordId);
    if (stored && entry && stored.shadow_hash === undefined && stored.shadow === entry.shadow) setLink(sides, nodeId, recordId, { ...stored, shadow_hash: entry.hash });
  });
}

/** Changes the sides entry of each of these links (record id → narrow row) of one side, and writes the entities back. */
async function editLinks(db: Db, nodeId: string, entities: ReadonlyMap<string, NarrowLink>, change: (sides: EntitySides, recordId: string) => void): Promise<void> {
  if (entities.size === 0) return;
  const edit = new SidesEdit(db);
  await edit.load([...entities.values()].map((link) => link.entityId));
  for (const [recordId, { entityId }] of entities) {
    const sides = edit.change(entityId);
    if (sides) change(sides, recordId);
  }
  await edit.save();
}

/** Forgets an entity's link on one side, tombstone included. */
export async function deleteEntityLink(db: Db, entityId: string, nodeId: string): Promise<void> {
  await db.deleteFrom('links').where('entity_id', '=', entityId).where('node_id', '=', nodeId).execute();
  const edit = new SidesEdit(db);
  await edit.load([entityId]);
  const sides = edit.change(entityId);
  if (sides) delete sides[nodeId];
  await edit.save();
}

/**
 * Writes entities that exist already: golden record and its provenance, deleted flag, breaker bookkeeping and
 * updated_at. One upsert per chunk instead of one update per entity; the rows are whole, so an entity that is somehow
 * gone comes back, without its links' sides: only the link functions below write those.
 */
export async function saveEntityRows(db: Db, rows: readonly EntityRow[]): Promise<void> {
  // One row per id, the last: PostgreSQL refuses an upsert that touches a row twice, where SQLite keeps the last.
  // Bound without its sides, which the upsert does not set: they are most of an entity's bytes.
  const byId = new Map<string, Omit<EntityRow, 'sides'>>();
  for (const { sides: _sides, ...row } of rows) {
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
