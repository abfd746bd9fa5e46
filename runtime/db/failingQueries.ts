import type { FailingRecordView } from '../engine/types';
import type { Db } from './queries';
import type { FailingRow } from './schema';

/** Every failing record of a flow, for a pass to retry. */
export async function failingOfFlow(db: Db, flowId: string): Promise<FailingRow[]> {
  return db.selectFrom('failing_records').selectAll().where('flow_id', '=', flowId).execute();
}

/** Files a record as failing, or counts one more attempt of one that is. */
export async function recordFailure(db: Db, failure: { flowId: string; nodeId: string; recordId: string; entityId: string | null; error: string; at: string }): Promise<void> {
  const { error, at, entityId } = failure;
  await db
    .insertInto('failing_records')
    .values({ flow_id: failure.flowId, node_id: failure.nodeId, record_id: failure.recordId, entity_id: entityId, error, attempts: 1, first_failed_at: at, last_failed_at: at })
    .onConflict((oc) =>
      oc.columns(['flow_id', 'node_id', 'record_id']).doUpdateSet((eb) => ({
        error,
        attempts: eb('failing_records.attempts', '+', 1),
        last_failed_at: at,
        entity_id: entityId,
      })),
    )
    .execute();
}

/** Starts the attempts of a flow's failing records from zero. */
export async function resetFailingAttempts(db: Db, flowId: string): Promise<void> {
  await db.updateTable('failing_records').set({ attempts: 0 }).where('flow_id', '=', flowId).execute();
}

/** A flow's failing records as the API shows them, the latest failure first. */
export async function listFailing(db: Db, flowId: string): Promise<FailingRecordView[]> {
  const rows = await db.selectFrom('failing_records').selectAll().where('flow_id', '=', flowId).orderBy('last_failed_at', 'desc').execute();
  return rows.map((row) => ({
    flowId: row.flow_id,
    nodeId: row.node_id,
    recordId: row.record_id,
    entityId: row.entity_id,
    error: row.error,
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
  }));
}
