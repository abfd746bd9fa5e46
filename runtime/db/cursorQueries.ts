import type { Version } from '../connectors/types';
import type { Db } from './queries';

/** Where a side's listing resumes (SPEC §7): the greatest version listed and the ids seen at exactly that version. */
export interface StoredCursor {
  since: Version | null;
  seen: string[];
}

/** A side's cursor; a side never listed starts from the beginning. */
export async function loadCursor(db: Db, flowId: string, nodeId: string): Promise<StoredCursor> {
  const row = await db.selectFrom('cursors').selectAll().where('flow_id', '=', flowId).where('node_id', '=', nodeId).executeTakeFirst();
  if (!row) return { since: null, seen: [] };
  return { since: row.since === null ? null : (JSON.parse(row.since) as Version), seen: JSON.parse(row.seen) as string[] };
}

/** Stores a side's cursor, replacing the one it had. */
export async function saveCursor(db: Db, flowId: string, nodeId: string, cursor: StoredCursor, at: string): Promise<void> {
  const values = { since: cursor.since === null ? null : JSON.stringify(cursor.since), seen: JSON.stringify(cursor.seen), updated_at: at };
  await db
    .insertInto('cursors')
    .values({ flow_id: flowId, node_id: nodeId, ...values })
    .onConflict((oc) => oc.columns(['flow_id', 'node_id']).doUpdateSet(values))
    .execute();
}
