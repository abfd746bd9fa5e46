import { sql } from 'kysely';
import { deleteInChunks } from './bulk';
import type { Db } from './queries';

/** How many passes of a flow the run history keeps; a flow polled every 5 s makes 17,280 a day. */
export const RUN_HISTORY_KEPT = 1000;

/** Log rows deleted per statement while pruning: a few milliseconds each, so nothing waits long for the lock. */
const PRUNE_CHUNK_ROWS = 2000;

/**
 * Forgets a flow's oldest runs and their per-record logs, keeping the newest `keep`. Returns how many runs went.
 *
 * The logs go a chunk at a time, with a pause between chunks. Under a webhook load a flow runs a hundred passes a second
 * and one prune deletes tens of thousands of log rows: in one statement that held the state's write lock (and the
 * server's thread) for about 100 ms, and the pass worker's next transaction waited all of it.
 */
export async function pruneRunHistory(db: Db, flowId: string, keep = RUN_HISTORY_KEPT, chunkRows = PRUNE_CHUNK_ROWS): Promise<number> {
  const boundary = await db
    .selectFrom('runs')
    .select(['started_at'])
    .where('flow_id', '=', flowId)
    .orderBy('started_at', 'desc')
    .limit(1)
    .offset(keep)
    .executeTakeFirst();
  if (!boundary) return 0;
  const old = sql`select id from runs where flow_id = ${flowId} and started_at <= ${boundary.started_at}`;
  await deleteInChunks(db, sql`delete from run_log where id in (select id from run_log where run_id in (${old}) limit ${chunkRows})`, chunkRows);
  // A run whose log is gone but which is still listed shows an empty log, so the runs go last.
  const deleted = await db.deleteFrom('runs').where('flow_id', '=', flowId).where('started_at', '<=', boundary.started_at).executeTakeFirst();
  return Number(deleted.numDeletedRows);
}
