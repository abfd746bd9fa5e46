import type { Kysely } from 'kysely';
import type { Database } from './schema';

type Db = Kysely<Database>;

export interface TriggerCounts {
  lastPassAt: string | null;
  synced: number;
  failing: number;
}

/** Per trigger node: when it last took part in a pass, how many records are linked, how many are failing. */
export async function triggerCounts(db: Db, flowId: string, nodeIds: readonly string[]): Promise<Record<string, TriggerCounts>> {
  const status: Record<string, TriggerCounts> = {};
  for (const nodeId of nodeIds) status[nodeId] = { lastPassAt: null, synced: 0, failing: 0 };
  if (nodeIds.length === 0) return status;
  const passes = await db.selectFrom('trigger_status').select(['node_id', 'last_pass_at']).where('flow_id', '=', flowId).execute();
  for (const row of passes) if (status[row.node_id]) status[row.node_id]!.lastPassAt = row.last_pass_at;
  const links = await db
    .selectFrom('links')
    .select(['node_id', (eb) => eb.fn.countAll<number>().as('count')])
    .where('flow_id', '=', flowId)
    .where('deleted', '=', 0)
    .groupBy('node_id')
    .execute();
  for (const row of links) if (status[row.node_id]) status[row.node_id]!.synced = Number(row.count);
  const failing = await db
    .selectFrom('failing_records')
    .select(['node_id', (eb) => eb.fn.countAll<number>().as('count')])
    .where('flow_id', '=', flowId)
    .groupBy('node_id')
    .execute();
  for (const row of failing) if (status[row.node_id]) status[row.node_id]!.failing = Number(row.count);
  return status;
}

/** Records that these triggers took part in a pass that finished at `at`. */
export async function recordTriggerPass(db: Db, flowId: string, nodeIds: readonly string[], at: string): Promise<void> {
  if (nodeIds.length === 0) return;
  await db
    .insertInto('trigger_status')
    .values(nodeIds.map((nodeId) => ({ flow_id: flowId, node_id: nodeId, last_pass_at: at })))
    .onConflict((oc) => oc.columns(['flow_id', 'node_id']).doUpdateSet({ last_pass_at: at }))
    .execute();
}

/**
 * A run left `running` by a process (or, with `only`, a pass worker) that was killed is marked failed, so history does
 * not show it running forever.
 */
export async function failInterruptedRuns(
  db: Db,
  now: string,
  only: { flowIds: readonly string[]; error: string } | null = null,
): Promise<number> {
  let query = db
    .updateTable('runs')
    .set({ status: 'failed', finished_at: now, error: only?.error ?? 'interrupted: the runtime stopped during this pass; it is redone on the next pass' })
    .where('status', '=', 'running');
  if (only) {
    if (only.flowIds.length === 0) return 0;
    query = query.where('flow_id', 'in', only.flowIds);
  }
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The flow a conflict belongs to, or undefined for an unknown conflict id. */
export async function conflictFlowId(db: Db, conflictId: string): Promise<string | undefined> {
  const row = await db.selectFrom('conflicts').select('flow_id').where('id', '=', conflictId).executeTakeFirst();
  return row?.flow_id;
}
