/**
 * What snapshot change detection (runtime/engine/snapshot.ts) asks of the state: per listed record, the hash of its
 * shadow and the writes the runtime made to it; the live links of a side in key order; the hashes it backfills.
 * Written with Kysely's builder and no SQL of one dialect beyond `oneOf`, the state's id list.
 */
import { sql, type Kysely } from 'kysely';
import { oneOf } from './bulk';
import { chunked, type Db } from './queries';
import type { Database } from './schema';

/** A record's link as a whole listing compares it: enough to tell "equal to its shadow" without reading the shadow. */
export interface ShadowDigest {
  entityId: string;
  /** False for a tombstone: the record is gone from the side as far as the sync is concerned. */
  live: boolean;
  /** `shadowHash` of the shadow; null when none was taken yet (see `shadow`) or the link has no shadow. */
  hash: string | null;
  /** The shadow's JSON, read only while its hash is missing (links saved before hashes were taken). */
  shadow: string | null;
  /** The runtime's completed writes to the record (tag and `writtenContentHash`): how its echo is recognised. */
  writes: Array<{ tag: string; hash: string }>;
}

/**
 * The links of these records of one side, each with the runtime's completed writes to it, in one statement per chunk:
 * the journal is joined by its (flow_id, node_id, record_id) index.
 */
export async function shadowDigests(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<Map<string, ShadowDigest>> {
  const digests = new Map<string, ShadowDigest>();
  for (const ids of chunked(recordIds)) {
    const rows = await db
      .selectFrom('links as l')
      .leftJoin('write_journal as j', (join) => join.onRef('j.flow_id', '=', 'l.flow_id').onRef('j.node_id', '=', 'l.node_id').onRef('j.record_id', '=', 'l.record_id'))
      .select([
        'l.record_id as recordId',
        'l.entity_id as entityId',
        'l.deleted as deleted',
        'l.shadow_hash as hash',
        sql<string | null>`case when l.shadow_hash is null then l.shadow end`.as('shadow'),
        'j.tag as tag',
        'j.hash as writtenHash',
        'j.status as status',
      ])
      .where('l.flow_id', '=', flowId)
      .where('l.node_id', '=', nodeId)
      .where('l.record_id', 'in', oneOf(ids))
      .execute();
    for (const row of rows) {
      let digest = digests.get(row.recordId);
      if (!digest) {
        digest = { entityId: row.entityId, live: row.deleted === 0, hash: row.hash, shadow: row.shadow, writes: [] };
        digests.set(row.recordId, digest);
      }
      // A pending entry is a write whose outcome a crash left open: recovery's business, not an echo.
      if (row.tag !== null && row.writtenHash !== null && row.status === 'done') digest.writes.push({ tag: row.tag, hash: row.writtenHash });
    }
  }
  return digests;
}

/**
 * Stores the hashes of shadows that had none. Only where the shadow is still the one hashed: a pass running beside
 * this one may have replaced it meanwhile, and its own hash with it.
 */
export async function storeShadowHashes(db: Kysely<Database>, flowId: string, nodeId: string, hashes: ReadonlyArray<{ recordId: string; shadow: string; hash: string }>): Promise<void> {
  if (hashes.length === 0) return;
  await db.transaction().execute(async (tx) => {
    for (const { recordId, shadow, hash } of hashes) {
      await tx
        .updateTable('links')
        .set({ shadow_hash: hash })
        .where('flow_id', '=', flowId)
        .where('node_id', '=', nodeId)
        .where('record_id', '=', recordId)
        .where('shadow_hash', 'is', null)
        .where('shadow', '=', shadow)
        .execute();
    }
  });
}

/** Up to `limit` record ids of one side's live links after `afterId` (from the first when null), in id order. */
export async function liveLinkIdsAfter(db: Db, flowId: string, nodeId: string, afterId: string | null, limit: number): Promise<string[]> {
  let query = db.selectFrom('links').select(['record_id']).where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('deleted', '=', 0);
  if (afterId !== null) query = query.where('record_id', '>', afterId);
  const rows = await query.orderBy('record_id').limit(limit).execute();
  return rows.map((row) => row.record_id);
}
