/**
 * Planning: what a page of entities should become. Per entity, the delete policy decides first (a side's record gone:
 * review, propagate, or ignore); otherwise its sides are merged field by field into the golden record (merge.ts) and
 * each side gets the write that brings it in line. The breaker then holds back entities written too often.
 */
import type { ConflictConfig } from '../../../nodes/conflict/schema';
import type { FlowRecord } from '../../../nodes/types';
import type { Connector, DeleteMeaning, SourceRecord } from '../../connectors/types';
import { openFieldConflicts } from '../../db/conflictQueries';
import type { Db } from '../../db/queries';
import type { CompiledPart } from '../graph';
import { writeId } from '../ids';
import { mergeEntity, type FieldConflict } from '../merge';
import { projectOut, type Projection } from '../projection';
import type { FieldChange } from '../types';
import { diffLeaves, isPlainObject, mergeLeaves, sameValue } from '../values';
import { failRecord } from './conflicts';
import type { EngineContext } from './context';
import { provenanceAfterMerge } from '../provenance';
import { filteredOnTheWayOut, permissionOff, QUARANTINED, sourceOf, waitsOnConflict } from './skips';
import { keyGiver, type EntityWork, type PassState, type PlannedWrite, type SideWork } from './passState';
import { entitySideKey } from '../../util/keys';

/** What one page of entities comes to: the writes to make and what the commit records besides. */
export interface PagePlan {
  /** Writes to make: those of entities neither skipped nor held by the breaker. */
  writes: PlannedWrite[];
  /** Entities whose golden record changed or that gained a link. */
  entityUpdates: EntityWork[];
  newConflicts: Array<{ entity: EntityWork; conflict: FieldConflict }>;
  deleteConflicts: EntityWork[];
  /** Entities left as they are in this pass: quarantined, failing, or waiting for review. */
  skipped: Set<EntityWork>;
  /** Entities the breaker quarantines instead of writing them again. */
  breakerTripped: Set<EntityWork>;
  deletedEntities: Set<EntityWork>;
  /** Sides whose record is gone: their link goes (a deleted entity) or stays as a tombstone. */
  unlinkDeleted: Set<SideWork>;
  /** Sides whose record stays on its system after its entity was deleted (closed, archived, or not deletable). */
  retired: Set<SideWork>;
}

type PlanContext = Pick<EngineContext, 'db' | 'limits' | 'now'>;

/** Plans a page of entities (see the top of this file). */
export async function planPage(ctx: PlanContext, part: CompiledPart, connectors: Map<string, Connector>, work: EntityWork[], held: Map<string, Set<string>>, pass: PassState): Promise<PagePlan> {
  const plan: PagePlan = {
    writes: [],
    entityUpdates: [],
    newConflicts: [],
    deleteConflicts: [],
    skipped: new Set(),
    breakerTripped: new Set(),
    deletedEntities: new Set(),
    unlinkDeleted: new Set(),
    retired: new Set(),
  };
  const planned: PlannedWrite[] = [];
  for (const item of work) {
    if (item.row?.quarantined) {
      for (const side of item.sides.values()) if (side.staged && side.record) pass.skip(side.trigger.nodeId, side.record.id, item.id, QUARANTINED);
      plan.skipped.add(item);
      continue;
    }
    const problem = [...item.sides.values()].find((side) => side.problem);
    if (problem) {
      await failRecord(ctx.db, pass, problem.trigger.nodeId, problem.link?.record_id ?? problem.record?.id ?? item.id, item.row ? item.id : null, problem.problem as string);
      plan.skipped.add(item);
      continue;
    }
    if (planDeletes(part, connectors, item, pass, plan, planned)) continue;
    await planMerge(ctx, part, connectors, item, held, pass, plan, planned);
  }
  // The breaker: an entity written too often within its window is quarantined instead of written again.
  plan.breakerTripped = applyBreaker(ctx.now, part.conflict, planned, pass);
  plan.writes = planned.filter((write) => !plan.breakerTripped.has(write.entity) && !plan.skipped.has(write.entity));
  return plan;
}

/**
 * The delete policy, for an entity with a side whose record is gone: `review` files it and leaves the entity alone,
 * `propagate` deletes it everywhere, `ignore` keeps a tombstone link on that side, so the entity is never recreated
 * there, and merges the rest. Returns whether the entity is settled (nothing to merge).
 */
function planDeletes(part: CompiledPart, connectors: Map<string, Connector>, item: EntityWork, pass: PassState, plan: PagePlan, planned: PlannedWrite[]): boolean {
  const gone = [...item.sides.values()].filter((side) => side.link && !side.link.deleted && side.read && (!side.record || side.record.deleted));
  const policy = part.conflict.deletes;
  if (gone.length > 0 && item.row && !item.row.deleted && policy === 'review') {
    plan.deleteConflicts.push(item);
    plan.skipped.add(item);
    return true;
  }
  // A deleted entity stays deleted: whatever is still linked to it (a delete that failed, a record created just
  // before a crash) is deleted too, and nothing is recreated.
  if (item.row?.deleted || (gone.length > 0 && policy === 'propagate')) {
    plan.deletedEntities.add(item);
    for (const side of item.sides.values()) {
      if (gone.includes(side) || side.link?.deleted || !(side.link || side.newlyLinked) || !side.record || side.record.deleted) continue;
      if (!side.trigger.config.write.delete) {
        pass.skip(side.trigger.nodeId, side.record.id, item.id, permissionOff('delete', side.trigger));
        continue;
      }
      if (deleteMeaning(connectors.get(side.trigger.nodeId) as Connector) === 'cannot') {
        // Never planned, so never retried: the record stays, out of the sync, and nothing recreates the entity.
        pass.skip(side.trigger.nodeId, side.record.id, item.id, `"${side.trigger.nodeId}" cannot delete records: it keeps this one, no longer synced`);
        plan.retired.add(side);
        continue;
      }
      planned.push({ entity: item, side, op: { kind: 'delete', id: side.record.id, expectedVersion: side.record.version }, after: {}, changes: [] });
    }
    for (const side of gone) plan.unlinkDeleted.add(side);
    return true;
  }
  for (const side of gone) plan.unlinkDeleted.add(side);
  return false;
}

/** Merges an entity's sides into its golden record and plans the write of each side that differs from it. */
async function planMerge(
  ctx: PlanContext,
  part: CompiledPart,
  connectors: Map<string, Connector>,
  item: EntityWork,
  held: Map<string, Set<string>>,
  pass: PassState,
  plan: PagePlan,
  planned: PlannedWrite[],
): Promise<void> {
  const merged = mergeEntity({
    golden: item.golden,
    sides: part.triggers.map((trigger) => {
      const side = item.sides.get(trigger.nodeId) as SideWork;
      const live = side.record && !side.record.deleted && !side.link?.deleted ? side.projection : null;
      return { nodeId: trigger.nodeId, projection: live, shadow: side.newlyLinked ? null : side.shadow, version: side.record?.version ?? null };
    }),
    policy: part.conflict.policy,
    fieldPolicies: part.conflict.fields,
    heldFields: held.get(item.id) ?? new Set(),
    firstSync: !item.row,
  });
  for (const conflict of merged.conflicts) plan.newConflicts.push({ entity: item, conflict });
  noteUncarried(pass, item, held.get(item.id), merged.conflicts);
  const goldenChanged = !sameValue(merged.golden, item.golden) || !item.row;
  item.golden = merged.golden;
  // A dry run keeps nothing, so it spends nothing on where values came from.
  if (merged.changes.length > 0 && !pass.dryRun) item.provenance = provenanceAfterMerge(item.provenance, merged.changes, { runId: pass.runId, at: ctx.now().toISOString() }, !item.row);
  if (goldenChanged || [...item.sides.values()].some((side) => side.newlyLinked)) plan.entityUpdates.push(item);

  const heldHere = new Set([...(held.get(item.id) ?? []), ...merged.conflicts.map((conflict) => conflict.field)]);
  for (const side of item.sides.values()) {
    if (!side.link && !side.newlyLinked && pass.unsettledCreates.has(entitySideKey(item.id, side.trigger.nodeId))) continue;
    const write = planWrite(ctx, pass.flowId, item, side, heldHere, connectors.get(side.trigger.nodeId));
    const settled = write instanceof Promise ? await write : write;
    if (settled === 'failed') {
      plan.skipped.add(item);
      // The change that led here is what gets retried: fail the records this pass read for the entity, so the
      // next pass reads them again (a new entity has no row of its own to revisit yet).
      for (const source of item.sides.values()) {
        if (!source.staged || !source.record) continue;
        await failRecord(ctx.db, pass, source.trigger.nodeId, source.record.id, item.row ? item.id : null, `cannot be written to "${side.trigger.nodeId}": ${side.problem ?? 'projection failed'}`);
      }
      break;
    }
    if (settled && 'notCarried' in settled) {
      const source = sourceOf(item.sides.values(), side);
      pass.skip(source.trigger.nodeId, source.record?.id ?? source.link?.record_id ?? null, item.id, settled.notCarried, settled.changes);
    } else if (settled) {
      planned.push(wholeObjectsUnlessPartial(settled, connectors.get(side.trigger.nodeId) as Connector));
    }
  }
}

/**
 * Tells of staged changes this merge does not carry anywhere: a record a filter on its way in let go no further, and a
 * field a side changed again while an open conflict holds it (`held`: the fields held when the pass began).
 */
function noteUncarried(pass: PassState, item: EntityWork, held: ReadonlySet<string> | undefined, conflicts: readonly FieldConflict[]): void {
  for (const side of item.sides.values()) {
    // A side listed whole stages its filtered-out records on every pass: only a change since a cursor is told of.
    if (side.filteredOut && side.staged && side.record && !pass.listedWhole.has(side.trigger.nodeId)) pass.skip(side.trigger.nodeId, side.record.id, item.id, side.filteredOut);
  }
  if (!held) return;
  for (const conflict of conflicts) {
    if (!held.has(conflict.field)) continue;
    for (const side of item.sides.values()) {
      const value = side.projection?.[conflict.field];
      if (!side.projection || !(conflict.field in side.projection) || (side.shadow && !side.newlyLinked && sameValue(side.shadow[conflict.field], value))) continue;
      pass.skip(side.trigger.nodeId, side.record?.id ?? null, item.id, waitsOnConflict(conflict.field), [{ field: conflict.field, before: conflict.base ?? null, after: value }]);
    }
  }
}

/** The write that brings one side in line with the golden record, if any; 'failed' when the record cannot be projected out. */
function planWrite(
  ctx: Pick<EngineContext, 'limits'>,
  flowId: string,
  item: EntityWork,
  side: SideWork,
  held: ReadonlySet<string>,
  connector: Connector | undefined,
): PlannedWrite | NotCarried | null | 'failed' | Promise<PlannedWrite | NotCarried | null | 'failed'> {
  if (side.link?.deleted) return null;
  const exists = side.record !== null && !side.record.deleted;
  if (!exists && side.link) return null;
  // A held field (an open manual conflict) is written nowhere (SPEC §5.4): each side is given its own value of it,
  // in the conflict node's vocabulary, so whatever the side's fields derive from it come out as they are.
  let target = item.golden;
  if (exists && held.size > 0 && side.projection) {
    target = { ...item.golden };
    for (const field of held) if (Object.hasOwn(side.projection, field)) target[field] = side.projection[field];
  }
  const out = projectOut(side.trigger, target, ctx.limits);
  const stored = (projection: Projection): Projection => (projection.kind === 'pass' && connector?.storedForm ? { ...projection, record: connector.storedForm(projection.record) } : projection);
  return out instanceof Promise ? out.then((settled) => planFrom(flowId, item, side, exists, stored(settled))) : planFrom(flowId, item, side, exists, stored(out));
}

/** A write the side would get and does not, and why (skips.ts); `changes` are what it would have written. */
interface NotCarried {
  notCarried: string;
  changes: FieldChange[];
}

function planFrom(flowId: string, item: EntityWork, side: SideWork, exists: boolean, out: Projection): PlannedWrite | NotCarried | null | 'failed' {
  const kind = exists ? 'update' : 'create';
  // The trigger's `write` decides after the diff, so a change it keeps out is told of; a side it keeps out cannot
  // fail the entity, though.
  const permitted = side.trigger.config.write[kind];
  if (out.kind === 'drop') return permitted && carriesSomething(item, side, exists) ? { notCarried: filteredOnTheWayOut(kind, side.trigger, out.by), changes: [] } : null;
  if (out.kind === 'error') {
    if (!permitted) return null;
    side.problem = `node "${out.error.nodeId}": ${out.error.message}`;
    return 'failed';
  }
  const current = exists ? (side.record as SourceRecord).fields : {};
  // Leaf by leaf: a nested object sends only the leaves that differ, and keys the system keeps that the flow does
  // not map are no difference. The connector merges the partial object into the record (SPEC §3, mapping).
  const diff = diffLeaves(current, out.record);
  const fields = diff.fields;
  const changes: FieldChange[] = diff.changes.map((change) => ({ field: change.field, before: exists ? (change.before ?? null) : null, after: change.after }));
  if (exists && changes.length === 0) return null;
  if (!exists && Object.keys(fields).length === 0) return null;
  if (!permitted) return { notCarried: permissionOff(kind, side.trigger), changes };
  const writeTag = `syncline:${flowId}:${writeId()}`;
  const after = mergeLeaves(current, fields);
  if (!exists) {
    // The same row, the same key: a side sharing keys takes the key of the record the entity has elsewhere.
    const key = keyGiver(item, side)?.record?.id;
    return { entity: item, side, op: { kind: 'create', fields, tag: writeTag, ...(key === undefined ? {} : { id: key }) }, after, changes };
  }
  const record = side.record as SourceRecord;
  return { entity: item, side, op: { kind: 'update', id: record.id, fields, tag: writeTag, expectedVersion: record.version }, after, changes };
}

/** Whether the golden record holds anything a side does not: a record to create, or a field its record differs in. */
function carriesSomething(item: EntityWork, side: SideWork, exists: boolean): boolean {
  if (!exists) return Object.keys(item.golden).length > 0;
  const held = side.projection;
  return held !== null && Object.keys(item.golden).some((field) => !sameValue(item.golden[field], held[field]));
}

/**
 * A write carries only the leaves of a nested object that differ. A system that merges a partial object (an API's
 * PATCH) gets just those; one that stores the object as one value (a JSON column) would lose the other keys, so it
 * gets the whole object as it holds it, with the leaves changed.
 */
function wholeObjectsUnlessPartial(write: PlannedWrite, connector: Connector): PlannedWrite {
  if (write.op.kind !== 'update' || connector.capabilities.partialObjects) return write;
  const current = write.side.record?.fields ?? {};
  let fields: FlowRecord | null = null;
  for (const [field, value] of Object.entries(write.op.fields)) {
    const held = current[field];
    if (!isPlainObject(value) || !isPlainObject(held)) continue;
    fields ??= { ...write.op.fields };
    fields[field] = mergeLeaves(held, value);
  }
  return fields ? { ...write, op: { ...write.op, fields } } : write;
}

/** What deleting a record does on a side's system (SPEC §7): removes it unless the connector says otherwise. */
export function deleteMeaning(connector: Connector): DeleteMeaning {
  return connector.capabilities.deletes ?? 'remove';
}

/** Counts each written entity's writes within its window; returns the entities written too often, logged as conflicts. */
function applyBreaker(now: () => Date, config: ConflictConfig, writes: PlannedWrite[], pass: PassState): Set<EntityWork> {
  const tripped = new Set<EntityWork>();
  const at = now().getTime();
  const counted = new Set<EntityWork>();
  for (const write of writes) {
    const item = write.entity;
    if (!item.row || counted.has(item)) continue;
    counted.add(item);
    const windowStart = item.row.breaker_window_start ? Date.parse(item.row.breaker_window_start) : 0;
    const inWindow = at - windowStart < config.breaker.windowMs;
    const count = (inWindow ? item.row.breaker_writes : 0) + 1;
    item.row.breaker_writes = count;
    if (!inWindow) item.row.breaker_window_start = new Date(at).toISOString();
    if (count > config.breaker.maxWrites) {
      tripped.add(item);
      pass.record(write.side.trigger.nodeId, write.side.link?.record_id ?? null, item.id, 'conflict', [], `written ${count} times within ${config.breaker.windowMs} ms: quarantined (another automation may be fighting the sync)`);
    }
  }
  return tripped;
}

/** Fields held by open manual conflicts, per entity. */
export async function heldFields(db: Db, flowId: string): Promise<Map<string, Set<string>>> {
  const held = new Map<string, Set<string>>();
  for (const row of await openFieldConflicts(db, flowId)) {
    if (!row.entityId || !row.field) continue;
    const fields = held.get(row.entityId) ?? new Set<string>();
    fields.add(row.field);
    held.set(row.entityId, fields);
  }
  return held;
}

/** A dry run's plan: what each write would do, counted as if done. */
export function recordPlanned(pass: PassState, writes: readonly PlannedWrite[]): void {
  for (const write of writes) {
    const planned = pass.plannedFor(write.side.trigger.nodeId);
    if (write.op.kind === 'create') {
      planned.creates.push({ id: null, fields: write.changes });
      pass.summary.created++;
    } else if (write.op.kind === 'update') {
      planned.updates.push({ id: write.op.id, fields: write.changes });
      pass.summary.updated++;
    } else {
      planned.deletes.push({ id: write.op.id });
      pass.summary.deleted++;
    }
  }
}
