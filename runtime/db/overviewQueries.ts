import { oneOf } from './bulk';
import { linksOfSides } from './entitySides';
import { linkedEntityIds, type Db } from './queries';
import { changeCount, parseSummary } from './runQueries';
import type { FlowRecord } from '../../nodes/types';
import { groupInto } from '../util/collections';
import { sideRecordKey } from '../util/keys';

/** How a flow is doing, for the flow list: its last pass, records in sync, changes, and what needs a person. */
export interface FlowHealth {
  lastRun: { id: string; status: string; startedAt: string; finishedAt: string | null } | null;
  /** Linked entities not deleted: the records this flow keeps in sync. */
  synced: number;
  /** Records created, updated or deleted by the passes of the last hour. */
  changesLastHour: number;
  failing: number;
  openConflicts: number;
}

const countsBy = (rows: { flow_id: string; count: number | string | bigint }[]) => new Map(rows.map((row) => [row.flow_id, Number(row.count)]));

/** How long a flow's count of deleted entities is reused: counting them reads every entity row of the flow. */
const DELETED_COUNT_TTL_MS = 5 * 60 * 1000;

/** Counts of deleted entities per flow, with when each was taken (see flowHealth). */
export type DeletedCounts = Map<string, { count: number; at: number }>;

/**
 * The health of each of `flowIds`, read from the state the passes keep (nothing is computed by the engine for it).
 *
 * Records in sync are the flow's entities less its deleted ones. All of them are counted on the index that starts with
 * `flow_id` without reading a row (35 ms at a million entities); the deleted ones are not indexed, so counting them
 * reads every row (0.5 s at a million), on the server's thread. That count, which only deletes change, is kept in
 * `deleted` for a few minutes, so the flow list can poll every few seconds.
 */
export async function flowHealth(db: Db, flowIds: readonly string[], now: Date, deleted: DeletedCounts = new Map()): Promise<Map<string, FlowHealth>> {
  const health = new Map<string, FlowHealth>();
  if (flowIds.length === 0) return health;
  const ids = oneOf(flowIds);
  const entities = countsBy(
    await db.selectFrom('entities').select(['flow_id', (eb) => eb.fn.countAll<number>().as('count')]).where('flow_id', 'in', ids).groupBy('flow_id').execute(),
  );
  const stale = flowIds.filter((flowId) => {
    const cached = deleted.get(flowId);
    return !cached || now.getTime() - cached.at > DELETED_COUNT_TTL_MS;
  });
  if (stale.length > 0) {
    const counted = countsBy(
      await db
        .selectFrom('entities')
        .select(['flow_id', (eb) => eb.fn.countAll<number>().as('count')])
        .where('flow_id', 'in', oneOf(stale))
        .where('deleted', '=', 1)
        .groupBy('flow_id')
        .execute(),
    );
    for (const flowId of stale) deleted.set(flowId, { count: counted.get(flowId) ?? 0, at: now.getTime() });
  }
  const failing = countsBy(
    await db.selectFrom('failing_records').select(['flow_id', (eb) => eb.fn.countAll<number>().as('count')]).where('flow_id', 'in', ids).groupBy('flow_id').execute(),
  );
  const conflicts = countsBy(
    await db
      .selectFrom('conflicts')
      .select(['flow_id', (eb) => eb.fn.countAll<number>().as('count')])
      .where('flow_id', 'in', ids)
      .where('status', '=', 'open')
      .groupBy('flow_id')
      .execute(),
  );
  const hourAgo = new Date(now.getTime() - 60 * 60 * 1000).toISOString();
  for (const flowId of flowIds) {
    const last = await db
      .selectFrom('runs')
      .select(['id', 'status', 'started_at', 'finished_at'])
      .where('flow_id', '=', flowId)
      .where('dry_run', '=', 0)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    // The run history keeps at most RUN_HISTORY_KEPT passes a flow, so this reads a bounded number of summaries.
    const recent = await db
      .selectFrom('runs')
      .select('summary')
      .where('flow_id', '=', flowId)
      .where('dry_run', '=', 0)
      .where('started_at', '>=', hourAgo)
      .where('summary', 'is not', null)
      .execute();
    let changes = 0;
    for (const row of recent) changes += changeCount(parseSummary(row.summary));
    health.set(flowId, {
      lastRun: last ? { id: last.id, status: last.status, startedAt: last.started_at, finishedAt: last.finished_at } : null,
      synced: Math.max(0, (entities.get(flowId) ?? 0) - (deleted.get(flowId)?.count ?? 0)),
      changesLastHour: changes,
      failing: failing.get(flowId) ?? 0,
      openConflicts: conflicts.get(flowId) ?? 0,
    });
  }
  return health;
}

/** An entity's golden record and each side's shadow (the side as last in sync), all in the conflict node's vocabulary. */
export interface EntityRecords {
  golden: FlowRecord;
  shadows: Map<string, FlowRecord>;
}

const parseRecord = (text: string | null): FlowRecord | null => {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as FlowRecord) : null;
  } catch {
    return null;
  }
};

/** The golden records and shadows of entities, by entity id (those that no longer exist are left out). */
export async function entityRecords(db: Db, entityIds: readonly string[]): Promise<Map<string, EntityRecords>> {
  const unique = [...new Set(entityIds)];
  const found = new Map<string, EntityRecords>();
  if (unique.length === 0) return found;
  const ids = oneOf(unique);
  for (const row of await db.selectFrom('entities').select(['id', 'flow_id', 'golden', 'sides']).where('id', 'in', ids).execute()) {
    // A golden record that does not parse names nothing; the record is shown by its id.
    const golden = parseRecord(row.golden);
    if (!golden) continue;
    const shadows = new Map<string, FlowRecord>();
    for (const link of linksOfSides(row)) {
      const shadow = parseRecord(link.shadow);
      if (shadow) shadows.set(link.node_id, shadow);
    }
    found.set(row.id, { golden, shadows });
  }
  return found;
}

/** The entity each `(node, record)` of a flow is linked to, keyed by `sideRecordKey`. */
export async function linkedEntities(db: Db, flowId: string, records: readonly { nodeId: string; recordId: string }[]): Promise<Map<string, string>> {
  const byNode = new Map<string, string[]>();
  for (const { nodeId, recordId } of records) groupInto(byNode, nodeId, recordId);
  const entities = new Map<string, string>();
  for (const [nodeId, recordIds] of byNode) {
    for (const [recordId, entityId] of await linkedEntityIds(db, flowId, nodeId, [...new Set(recordIds)])) entities.set(sideRecordKey(nodeId, recordId), entityId);
  }
  return entities;
}
