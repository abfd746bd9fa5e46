import { sql } from 'kysely';
import { deleteInChunks } from './bulk';
import type { Db } from './queries';

/**
 * Deletes all of a flow's state but what passes learned (flow_knowledge): links, golden records, cursors, journal,
 * runs and their logs, conflicts, failing records. In statements of at most `chunk` rows, each its own commit: a
 * million-record flow in one transaction would hold the state's write lock for seconds, and the server's other
 * connection (webhook intake, API writes) gives up waiting after five. Interrupted, it leaves part of the state
 * behind, and running it again finishes the job.
 */
export async function deleteFlowState(db: Db, flowId: string, chunk: number): Promise<void> {
  const runIds = (await db.selectFrom('runs').select(['id']).where('flow_id', '=', flowId).execute()).map((row) => row.id);
  for (const runId of runIds) {
    await deleteInChunks(db, sql`delete from run_log where id in (select id from run_log where run_id = ${runId} limit ${chunk})`, chunk);
  }
  const keyed: Array<[table: string, key: string]> = [
    ['entities', 'id'],
    ['write_ahead', 'page'],
    ['runs', 'id'],
    ['conflicts', 'id'],
  ];
  for (const [table, key] of keyed) {
    await deleteInChunks(db, sql`delete from ${sql.table(table)} where ${sql.ref(key)} in (select ${sql.ref(key)} from ${sql.table(table)} where flow_id = ${flowId} limit ${chunk})`, chunk);
  }
  // Keyed by (flow, node, record): the rest of the key picks the rows.
  for (const table of ['failing_records', 'links']) {
    await deleteInChunks(
      db,
      sql`delete from ${sql.table(table)} where flow_id = ${flowId} and (node_id, record_id) in (select node_id, record_id from ${sql.table(table)} where flow_id = ${flowId} limit ${chunk})`,
      chunk,
    );
  }
  await db.deleteFrom('cursors').where('flow_id', '=', flowId).execute();
}
