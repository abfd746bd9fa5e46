import type { Selectable } from 'kysely';
import type { Db } from './queries';
import type { FlowKnowledgeTable } from './schema';

/** What the last clean pass of a flow learned about its sides; `sides` is the engine's JSON (pass/sideKnowledge.ts). */
export type FlowKnowledgeRow = Selectable<FlowKnowledgeTable>;

/** What the flow's last clean pass learned, if any is kept. */
export async function storedKnowledge(db: Db, flowId: string): Promise<FlowKnowledgeRow | undefined> {
  return db.selectFrom('flow_knowledge').selectAll().where('flow_id', '=', flowId).executeTakeFirst();
}

/**
 * Whether a run of the flow other than `exceptRunId` was recorded after run `runId`; null when `runId` is not recorded
 * (any more), or was recorded before runs were numbered. "After" goes by the order the runs were recorded in (`seq`),
 * not by their start times: passes a millisecond long share start times, and one that ended before the knowing pass
 * began counted as one after it.
 */
export async function runRecordedSince(db: Db, flowId: string, runId: string, exceptRunId: string | null): Promise<boolean | null> {
  const knowing = await db.selectFrom('runs').select(['seq']).where('id', '=', runId).executeTakeFirst();
  if (!knowing || knowing.seq === null) return null;
  const others = await db
    .selectFrom('runs')
    .select(['id'])
    .where('flow_id', '=', flowId)
    .where('seq', '>', knowing.seq)
    .where('id', '!=', exceptRunId ?? '')
    .limit(1)
    .execute();
  return others.length > 0;
}

/** Replaces what the flow's passes learned. */
export async function saveKnowledge(db: Db, row: FlowKnowledgeRow): Promise<void> {
  const { flow_id: _flowId, ...values } = row;
  await db
    .insertInto('flow_knowledge')
    .values(row)
    .onConflict((oc) => oc.column('flow_id').doUpdateSet(values))
    .execute();
}

/** Forgets what the flow's passes learned: the next pass counts and scans afresh. */
export async function deleteKnowledge(db: Db, flowId: string): Promise<void> {
  await db.deleteFrom('flow_knowledge').where('flow_id', '=', flowId).execute();
}
