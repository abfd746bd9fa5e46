/**
 * What a pass files for a person: conflicts (a field both sides changed, a delete under review, an ambiguous match,
 * the breaker, the mass-delete guard, a shared key held by another record) and failing records; and how a resolved
 * conflict changes the state, for the next pass to write out.
 */
import { randomUUID } from 'node:crypto';
import type { FlowRecord } from '../../../nodes/types';
import type { Connector, WriteResult } from '../../connectors/types';
import {
  closeSettledConflicts,
  conflictById,
  conflictView,
  findConflictId,
  insertConflict,
  markConflictResolved,
  openConflictsOfKind,
  setConflictSides,
} from '../../db/conflictQueries';
import { entityGolden, markEntityDeleted, quarantineEntity, releaseEntity, setEntityGolden } from '../../db/entityQueries';
import { recordFailure } from '../../db/failingQueries';
import { deleteEntityLink, type Db } from '../../db/queries';
import type { ConflictRow, EntityRow } from '../../db/schema';
import type { FieldConflict } from '../merge';
import { projectIn } from '../projection';
import { provenanceAfterResolution } from '../provenance';
import type { StagedChange } from '../staging';
import { EngineInputError, type ConflictKind, type ConflictResolution, type ConflictView } from '../types';
import type { EngineContext } from './context';
import { keyConflictKey, keyGiver, type EntityWork, type PassState, type PlannedWrite, type SideWork } from './passState';
import { sideRecordKey } from '../../util/keys';

/** A new open conflict of the pass's flow. */
export function newConflict(pass: PassState, entityId: string | null, kind: ConflictKind, field: string | null, base: unknown, sides: Record<string, unknown>): ConflictRow {
  return {
    id: randomUUID(),
    flow_id: pass.flowId,
    entity_id: entityId,
    kind,
    field,
    base: base === undefined ? null : JSON.stringify(base),
    sides: JSON.stringify(sides),
    status: 'open',
    resolution: null,
    created_at: pass.now().toISOString(),
    resolved_at: null,
  };
}

/** Counts, logs and (outside a dry run) files a record that could not be synced; every pass retries it (SPEC §7). */
export async function failRecord(db: Db, pass: PassState, nodeId: string, recordId: string, entityId: string | null, message: string): Promise<void> {
  const key = sideRecordKey(nodeId, recordId);
  if (!pass.failedRecords.has(key)) {
    pass.failedRecords.add(key);
    pass.summary.failed++;
  }
  pass.record(nodeId, recordId, entityId, 'failed', [], message);
  if (pass.dryRun) return;
  pass.mayHaveFailing = true;
  await recordFailure(db, { flowId: pass.flowId, nodeId, recordId, entityId, error: message, at: pass.now().toISOString() });
}

/** Records whose match values fit more than one way of linking them: held until the values are unique. */
export async function fileMatchConflict(db: Db, pass: PassState, key: string, group: StagedChange[], existing: EntityRow[], why: string): Promise<void> {
  const sides: Record<string, unknown> = {};
  for (const change of group) {
    const list = (sides[change.nodeId] as string[] | undefined) ?? [];
    list.push(change.recordId);
    sides[change.nodeId] = list;
  }
  if (existing.length) sides.entities = existing.map((row) => row.id);
  for (const change of group) pass.record(change.nodeId, change.recordId, null, 'conflict', [], `match not unique: ${why}`);
  if (pass.dryRun) return;
  const open = await findConflictId(db, { flowId: pass.flowId, kind: 'match', field: key, status: 'open' });
  if (open) {
    await setConflictSides(db, open, sides);
  } else {
    await insertConflict(db, newConflict(pass, null, 'match', key, why, sides));
    pass.summary.conflicts++;
  }
}

/**
 * A field both sides changed, under the `manual` policy: held everywhere until a person picks its value. A side that
 * changes a field already held updates the open conflict's values; planning logs that change as waiting on it.
 */
export async function fileFieldConflict(tx: Db, pass: PassState, item: EntityWork, conflict: FieldConflict): Promise<void> {
  const open = await findConflictId(tx, { entityId: item.id, kind: 'field', field: conflict.field, status: 'open' });
  if (open) {
    await setConflictSides(tx, open, conflict.sides);
    return;
  }
  for (const [nodeId, value] of Object.entries(conflict.sides)) {
    pass.record(nodeId, item.sides.get(nodeId)?.link?.record_id ?? null, item.id, 'conflict', [{ field: conflict.field, before: conflict.base ?? null, after: value }], 'held for manual resolution');
  }
  await insertConflict(tx, newConflict(pass, item.id, 'field', conflict.field, conflict.base, conflict.sides));
  pass.summary.conflicts++;
}

/** A record deleted on one side, under the `review` delete policy: nothing is deleted or restored until a person says. */
export async function fileDeleteConflict(tx: Db, pass: PassState, item: EntityWork): Promise<void> {
  const sides: Record<string, unknown> = {};
  for (const side of item.sides.values()) {
    if (!side.link) continue;
    sides[side.trigger.nodeId] = side.record && !side.record.deleted ? side.projection : null;
  }
  const open = await findConflictId(tx, { entityId: item.id, kind: 'delete', status: 'open' });
  for (const side of item.sides.values()) if (side.link && (!side.record || side.record.deleted)) pass.record(side.trigger.nodeId, side.link.record_id, item.id, 'conflict', [], 'deleted on this side: waiting for review');
  if (open) return;
  await insertConflict(tx, newConflict(pass, item.id, 'delete', null, item.golden, sides));
  pass.summary.conflicts++;
}

/** An entity the breaker tripped on: quarantined, with what each side holds, until a person releases it. */
export async function fileBreaker(tx: Db, pass: PassState, item: EntityWork): Promise<void> {
  await quarantineEntity(tx, item.id);
  const sides: Record<string, unknown> = {};
  for (const side of item.sides.values()) if (side.projection) sides[side.trigger.nodeId] = side.projection;
  await insertConflict(tx, newConflict(pass, item.id, 'breaker', null, item.golden, sides));
  pass.summary.conflicts++;
}

/** What a key conflict shows of one side: the key, and the record there (in the conflict node's vocabulary). */
export interface KeySide {
  key: string;
  record: FlowRecord | null;
  /** The record holding the key is marked deleted (`deletedFlag`): a deleted row keeps its key until it is removed. */
  deleted?: true;
}

/**
 * The records holding the keys of creates that came back `taken`, read for the conflict (null: it could not be read,
 * or is gone already). Each is shown in the conflict node's vocabulary, like the sides of every other conflict.
 */
export async function keyHolders(
  ctx: Pick<EngineContext, 'limits'>,
  connectors: Map<string, Connector>,
  results: ReadonlyMap<PlannedWrite, WriteResult>,
): Promise<Map<PlannedWrite, KeySide>> {
  const holders = new Map<PlannedWrite, KeySide>();
  const bySide = new Map<SideWork, PlannedWrite[]>();
  for (const [write, result] of results) {
    if (write.op.kind !== 'create' || write.op.id === undefined || result.ok || result.reason !== 'taken') continue;
    bySide.set(write.side, [...(bySide.get(write.side) ?? []), write]);
  }
  for (const [side, writes] of bySide) {
    const keys = writes.map((write) => (write.op as { id: string }).id);
    // Only what the conflict shows: a side that cannot be read now still gets its conflict, without the record.
    const found = await (connectors.get(side.trigger.nodeId) as Connector).getMany(keys).catch(() => new Map());
    for (const [index, write] of writes.entries()) {
      const key = keys[index] as string;
      const holder = found.get(key);
      let record: FlowRecord | null = null;
      if (holder) {
        const projected = await projectIn(side.trigger, holder.fields, ctx.limits);
        record = projected.kind === 'pass' ? projected.record : holder.fields;
      }
      holders.set(write, { key, record, ...(holder?.deleted ? { deleted: true as const } : {}) });
    }
  }
  return holders;
}

/**
 * A create onto a side sharing keys found its key held there by another record: nothing was written, nothing
 * overwritten. One open conflict per entity and side (its `field` is the side), with the key and both records; every
 * pass merges the entity again (openKeyConflicts), so once a person frees the key the record is created.
 */
export async function fileKeyConflict(tx: Db, pass: PassState, write: PlannedWrite, holder: KeySide | undefined): Promise<void> {
  const { entity: item, side } = write;
  const nodeId = side.trigger.nodeId;
  const key = (write.op as { id: string }).id;
  const giver = keyGiver(item, side);
  const sides: Record<string, KeySide> = { [nodeId]: holder ?? { key, record: null } };
  if (giver) sides[giver.trigger.nodeId] = { key, record: giver.projection };
  const from = giver ? ` (the key of its record on "${giver.trigger.nodeId}")` : '';
  pass.record(nodeId, null, item.id, 'conflict', [], `key ${key}${from} is held here by another record: not created, nothing overwritten; once the key is free, the next pass creates it`);
  const known = pass.keyConflicts.get(keyConflictKey(item.id, nodeId));
  const open = known ?? (await findConflictId(tx, { entityId: item.id, kind: 'key', field: nodeId, status: 'open' }));
  if (open) {
    await setConflictSides(tx, open, sides);
    return;
  }
  const row = newConflict(pass, item.id, 'key', nodeId, item.golden, sides);
  await insertConflict(tx, row);
  pass.keyConflicts.set(keyConflictKey(item.id, nodeId), row.id);
  pass.summary.conflicts++;
}

/** The flow's open key conflicts, kept in the pass; their entities are merged again, to try each create once more. */
export async function openKeyConflicts(db: Db, pass: PassState): Promise<void> {
  for (const conflict of await openConflictsOfKind(db, pass.flowId, 'key')) {
    if (!conflict.entityId || !conflict.field) continue;
    pass.keyConflicts.set(keyConflictKey(conflict.entityId, conflict.field), conflict.id);
    pass.revisit.add(conflict.entityId);
  }
}

/**
 * Closes the key conflicts a page settled: the record was created under its key (`created`), its side was linked to
 * a record otherwise, or its entity was deleted. A conflict whose create came back `taken` again stays open.
 */
export async function closeSettledKeyConflicts(tx: Db, pass: PassState, work: EntityWork[], created: ReadonlySet<SideWork>, deleted: ReadonlySet<EntityWork>): Promise<void> {
  const settled: string[] = [];
  for (const item of work) {
    for (const side of item.sides.values()) {
      const key = keyConflictKey(item.id, side.trigger.nodeId);
      const conflictId = pass.keyConflicts.get(key);
      if (!conflictId || !(created.has(side) || side.link || side.newlyLinked || deleted.has(item))) continue;
      settled.push(conflictId);
      pass.keyConflicts.delete(key);
    }
  }
  await closeSettledConflicts(tx, settled, pass.now().toISOString());
}

/** The refusal of a conflict id that names no conflict. */
export function noSuchConflict(conflictId: string): EngineInputError {
  return new EngineInputError('not_found', `no conflict "${conflictId}"`);
}

/**
 * Resolves an open conflict: a field takes the chosen side's value or the given value, and the next pass writes
 * it out. A delete conflict takes `{side}`: the deleting side deletes everywhere, any other side restores.
 * `forgetKnowledge` voids what passes learned of the flow: resolving may remove links, so the next pass must count
 * and scan afresh.
 */
export async function resolveConflict(
  ctx: Pick<EngineContext, 'db' | 'now' | 'logger'>,
  forgetKnowledge: (flowId: string) => Promise<void>,
  conflictId: string,
  resolution: ConflictResolution,
): Promise<ConflictView> {
  const row = await conflictById(ctx.db, conflictId);
  if (!row) throw noSuchConflict(conflictId);
  if (row.status !== 'open') throw new EngineInputError('already_resolved', `conflict "${conflictId}" is already ${row.status}`);
  if (row.kind === 'key') throw keyConflictRefusal(row);
  await forgetKnowledge(row.flow_id);
  const sides = JSON.parse(row.sides) as Record<string, unknown>;
  if ('side' in resolution && !Object.hasOwn(sides, resolution.side)) {
    throw new EngineInputError('unknown_side', `side "${resolution.side}" is not part of this conflict; sides: ${Object.keys(sides).join(', ')}`);
  }
  await ctx.db.transaction().execute(async (tx) => {
    await applyResolution(tx, ctx.now, row, sides, resolution);
    await markConflictResolved(tx, conflictId, resolution, ctx.now().toISOString());
  });
  if (row.kind === 'delete' && 'side' in resolution && sides[resolution.side] === null) {
    // The entity is marked deleted; the next pass removes what is still linked to it on the other sides.
    ctx.logger?.info({ flowId: row.flow_id, entityId: row.entity_id }, 'delete approved; the next pass removes the record from the other sides');
  }
  return conflictView((await conflictById(ctx.db, conflictId)) as ConflictRow);
}

/** A key conflict has no value to pick: the record holding the key is someone's to remove or re-key. */
function keyConflictRefusal(row: ConflictRow): EngineInputError {
  const side = row.field ?? 'its side';
  const held = (JSON.parse(row.sides) as Record<string, { key?: unknown } | null>)[side]?.key;
  return new EngineInputError(
    'not_resolvable',
    `a key conflict is resolved by freeing key ${held === undefined ? '' : `${String(held)} `}on "${side}" (remove the record that holds it there, or give that record another key); the next pass creates the record`,
  );
}

/** What a resolution changes in the state, by the conflict's kind. */
async function applyResolution(tx: Db, now: () => Date, row: ConflictRow, sides: Record<string, unknown>, resolution: ConflictResolution): Promise<void> {
  const entityId = row.entity_id as string;
  if (row.kind === 'field') {
    const value = 'side' in resolution ? sides[resolution.side] : resolution.value;
    const stored = await entityGolden(tx, entityId);
    if (stored === undefined) throw new EngineInputError('not_found', `the entity of conflict "${row.id}" no longer exists`);
    const golden = JSON.parse(stored.golden) as FlowRecord;
    const field = row.field as string;
    const at = now().toISOString();
    const provenance = provenanceAfterResolution(stored.provenance, { field, before: golden[field], side: 'side' in resolution ? resolution.side : null, conflictId: row.id, at });
    golden[field] = value;
    await setEntityGolden(tx, entityId, JSON.stringify(golden), provenance, at);
  } else if (row.kind === 'delete') {
    if (!('side' in resolution)) throw new EngineInputError('bad_resolution', 'a delete conflict is resolved by picking a side: {"side": "<trigger id>"}');
    if (sides[resolution.side] === null) {
      // Propagate: the next pass sees the entity's links on the deleting side gone and deletes the rest.
      await deleteEntityLink(tx, entityId, resolution.side);
      await markEntityDeleted(tx, entityId);
    } else {
      // Restore: forget the links of the sides where the record is gone, so the next pass recreates it there.
      for (const [nodeId, value] of Object.entries(sides)) if (value === null) await deleteEntityLink(tx, entityId, nodeId);
    }
  } else if (row.kind === 'breaker') {
    await releaseEntity(tx, entityId);
  } else if (row.kind === 'match') {
    throw new EngineInputError('not_resolvable', 'a match conflict is resolved by making the match values unique on each side; the next pass links the records');
  }
}
