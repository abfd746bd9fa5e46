import type { Db } from './queries';

/** How many passes of a flow the run history keeps; a flow polled every 5 s makes 17,280 a day. */
export const RUN_HISTORY_KEPT = 1000;

/** Forgets a flow's oldest runs and their per-record logs, keeping the newest `keep`. Returns how many went. */
export async function pruneRunHistory(db: Db, flowId: string, keep = RUN_HISTORY_KEPT): Promise<number> {
  const boundary = await db
    .selectFrom('runs')
    .select(['started_at'])
    .where('flow_id', '=', flowId)
    .orderBy('started_at', 'desc')
    .limit(1)
    .offset(keep)
    .executeTakeFirst();
  if (!boundary) return 0;
  return db.transaction().execute(async (tx) => {
    const old = tx.selectFrom('runs').select(['id']).where('flow_id', '=', flowId).where('started_at', '<=', boundary.started_at);
    await tx.deleteFrom('run_log').where('run_id', 'in', old).execute();
    const deleted = await tx.deleteFrom('runs').where('flow_id', '=', flowId).where('started_at', '<=', boundary.started_at).executeTakeFirst();
    return Number(deleted.numDeletedRows);
  });
}
