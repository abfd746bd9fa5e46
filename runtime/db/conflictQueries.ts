import type { ConflictKind, ConflictResolution, ConflictStatus, ConflictView } from '../engine/types';
import type { Db } from './queries';
import type { ConflictRow } from './schema';

/** Which conflict to look for: one of a flow (`match`, `mass-delete`) or one of an entity (`field`, `delete`, `key`). */
export interface ConflictKey {
  flowId?: string;
  entityId?: string;
  kind: ConflictKind;
  /** The field of a field conflict, the match values of a match conflict, the side of a key or mass-delete conflict. */
  field?: string;
  status: ConflictStatus;
}

/** The id of a conflict with this key, if there is one. */
export async function findConflictId(db: Db, key: ConflictKey): Promise<string | undefined> {
  let query = db.selectFrom('conflicts').select(['id']);
  if (key.flowId !== undefined) query = query.where('flow_id', '=', key.flowId);
  if (key.entityId !== undefined) query = query.where('entity_id', '=', key.entityId);
  query = query.where('kind', '=', key.kind);
  if (key.field !== undefined) query = query.where('field', '=', key.field);
  const row = await query.where('status', '=', key.status).executeTakeFirst();
  return row?.id;
}

/**
 * The mass-delete review of one side of a flow in this status, if there is one. A review filed before reviews named
 * their side (its field null) stands for every side of its flow, as it did then.
 */
export async function findMassDeleteReview(db: Db, flowId: string, nodeId: string, status: ConflictStatus): Promise<string | undefined> {
  const row = await db
    .selectFrom('conflicts')
    .select(['id'])
    .where('flow_id', '=', flowId)
    .where('kind', '=', 'mass-delete')
    .where('status', '=', status)
    .where((eb) => eb.or([eb('field', '=', nodeId), eb('field', 'is', null)]))
    .executeTakeFirst();
  return row?.id;
}

/** Files a conflict. */
export async function insertConflict(db: Db, row: ConflictRow): Promise<void> {
  await db.insertInto('conflicts').values(row).execute();
}

/** Replaces what an open conflict says each side holds (it was filed again with newer values). */
export async function setConflictSides(db: Db, conflictId: string, sides: Record<string, unknown>): Promise<void> {
  await db.updateTable('conflicts').set({ sides: JSON.stringify(sides) }).where('id', '=', conflictId).execute();
}

/** Marks a flow's resolved conflicts of these kinds applied: a pass has written their resolutions out. */
export async function markResolvedApplied(db: Db, flowId: string, kinds: readonly ConflictKind[]): Promise<void> {
  await db.updateTable('conflicts').set({ status: 'applied' }).where('flow_id', '=', flowId).where('status', '=', 'resolved').where('kind', 'in', kinds).execute();
}

/** Marks these resolved conflicts applied: what they decided has been done. */
export async function markConflictsApplied(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('conflicts').set({ status: 'applied' }).where('status', '=', 'resolved').where('id', 'in', ids).execute();
}

/** Entities of a flow with a resolved conflict whose resolution is still to be written out. */
export async function resolvedConflictEntityIds(db: Db, flowId: string): Promise<string[]> {
  const rows = await db.selectFrom('conflicts').select(['entity_id']).where('flow_id', '=', flowId).where('status', '=', 'resolved').where('entity_id', 'is not', null).execute();
  return rows.map((row) => row.entity_id as string);
}

/** The entity and field of each open field conflict of a flow. */
export async function openFieldConflicts(db: Db, flowId: string): Promise<Array<{ entityId: string | null; field: string | null }>> {
  const rows = await db.selectFrom('conflicts').select(['entity_id', 'field']).where('flow_id', '=', flowId).where('status', '=', 'open').where('kind', '=', 'field').execute();
  return rows.map((row) => ({ entityId: row.entity_id, field: row.field }));
}

/** The open conflicts of one kind of a flow: id, entity and field (a key conflict's field is its side). */
export async function openConflictsOfKind(db: Db, flowId: string, kind: ConflictKind): Promise<Array<{ id: string; entityId: string | null; field: string | null }>> {
  const rows = await db.selectFrom('conflicts').select(['id', 'entity_id', 'field']).where('flow_id', '=', flowId).where('status', '=', 'open').where('kind', '=', kind).execute();
  return rows.map((row) => ({ id: row.id, entityId: row.entity_id, field: row.field }));
}

/** Closes open conflicts that a pass settled by itself (a key freed): applied, with no person's resolution. */
export async function closeSettledConflicts(db: Db, conflictIds: readonly string[], at: string): Promise<void> {
  if (conflictIds.length === 0) return;
  await db.updateTable('conflicts').set({ status: 'applied', resolved_at: at }).where('id', 'in', conflictIds).where('status', '=', 'open').execute();
}

/** A conflict by its id, if there is one. */
export async function conflictById(db: Db, conflictId: string): Promise<ConflictRow | undefined> {
  return db.selectFrom('conflicts').selectAll().where('id', '=', conflictId).executeTakeFirst();
}

/** Records a person's resolution; the next pass writes it out and marks the conflict applied. */
export async function markConflictResolved(db: Db, conflictId: string, resolution: ConflictResolution, at: string): Promise<void> {
  await db.updateTable('conflicts').set({ status: 'resolved', resolution: JSON.stringify(resolution), resolved_at: at }).where('id', '=', conflictId).execute();
}

/** Conflicts, oldest first, of one flow and in one status when given. */
export async function listConflicts(db: Db, filter: { flowId?: string; status?: ConflictStatus }): Promise<ConflictView[]> {
  let query = db.selectFrom('conflicts').selectAll().orderBy('created_at');
  if (filter.flowId) query = query.where('flow_id', '=', filter.flowId);
  if (filter.status) query = query.where('status', '=', filter.status);
  return (await query.execute()).map(conflictView);
}

/** A conflicts row as the API shows it. */
export function conflictView(row: ConflictRow): ConflictView {
  return {
    id: row.id,
    flowId: row.flow_id,
    entityId: row.entity_id,
    kind: row.kind as ConflictView['kind'],
    field: row.field,
    base: row.base === null ? null : (JSON.parse(row.base) as unknown),
    sides: JSON.parse(row.sides) as Record<string, unknown>,
    status: row.status as ConflictStatus,
    resolution: row.resolution ? (JSON.parse(row.resolution) as ConflictResolution) : null,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}
