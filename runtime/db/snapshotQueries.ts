/**
 * What snapshot change detection (runtime/engine/snapshot.ts) asks of the state: per listed record, the hash of its
 * shadow and the runtime's last write to it; the live links of a side in key order; the hashes it backfills.
 * Written with Kysely's builder and no SQL of one dialect beyond `oneOf`, the state's id list; a link's shadow and marks
 * are in its entity's row (entitySides.ts), read and written through runtime/db/queries.ts.
 */
import type { Kysely } from 'kysely';
import { linksByRecord, storeLinkShadowHashes, type Db } from './queries';
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
  /** The runtime's last write to the record (tag and `writtenContentHash`), if any: how its echo is recognised. */
  written: { tag: string; hash: string } | null;
}

/** The links of these records of one side, each with the runtime's last write to it, in one statement per chunk. */
export async function shadowDigests(db: Db, flowId: string, nodeId: string, recordIds: readonly string[]): Promise<Map<string, ShadowDigest>> {
  const digests = new Map<string, ShadowDigest>();
  for (const link of await linksByRecord(db, flowId, nodeId, recordIds)) {
    const written = link.written_tag !== null && link.written_hash !== null ? { tag: link.written_tag, hash: link.written_hash } : null;
    const hash = link.shadow_hash;
    digests.set(link.record_id, { entityId: link.entity_id, live: link.deleted === 0, hash, shadow: hash === null ? link.shadow : null, written });
  }
  return digests;
}

/**
 * Stores the hashes of shadows that had none. Only where the shadow is still the one hashed: a pass running beside
 * this one may have replaced it meanwhile, and its own hash with it.
 */
export async function storeShadowHashes(db: Kysely<Database>, flowId: string, nodeId: string, hashes: ReadonlyArray<{ recordId: string; shadow: string; hash: string }>): Promise<void> {
  if (hashes.length === 0) return;
  await db.transaction().execute((tx) => storeLinkShadowHashes(tx, flowId, nodeId, hashes));
}

/** Up to `limit` record ids of one side's live links after `afterId` (from the first when null), in id order. */
export async function liveLinkIdsAfter(db: Db, flowId: string, nodeId: string, afterId: string | null, limit: number): Promise<string[]> {
  let query = db.selectFrom('links').select(['record_id']).where('flow_id', '=', flowId).where('node_id', '=', nodeId).where('deleted', '=', 0);
  if (afterId !== null) query = query.where('record_id', '>', afterId);
  const rows = await query.orderBy('record_id').limit(limit).execute();
  return rows.map((row) => row.record_id);
}
