/**
 * Snapshot change detection (docs/connectors.md, "Systems without a change feed"). A side whose system has no change
 * feed it can be trusted with is listed whole on every pass, from the start, page by page. Each listed record is
 * projected and the hash of its projection compared with the hash of its shadow: only the records that differ (and
 * the new and the deleted ones) are staged as changes, so a record equal to its shadow costs no merge and no write.
 * Versions play no part: a record without an updated time, and one edited without its version moving, are both seen.
 *
 * The listing is also the side's scan for hard deletes. Once it has run to its end, the side's live links are walked in
 * key order against the ids it listed; each linked record it did not list is read once by id (a listing paged by
 * position passes over a record when one before it is deleted meanwhile), and only what that read does not find is
 * staged as deleted, for the mass-delete guard to weigh with every other delete. A listing that stops part way (a
 * rate limit, a stop, a failure) throws, and nothing is decided from it.
 *
 * Memory stays within a page: the ids listed go to the pass's staging, which moves them to a file past its limit.
 */
import { hash } from 'node:crypto';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import type { FlowRecord } from '../../nodes/types';
import type { Connector, ConnectorCapabilities, ListPage, ListPosition, SourceRecord } from '../connectors/types';
import type { StateDb } from '../db/index';
import { chunked, clearWrittenMarks, countLiveLinks, entitiesById, linksByEntity, liveLinkedIds } from '../db/queries';
import { liveLinkIdsAfter, shadowDigests, storeShadowHashes, type ShadowDigest } from '../db/snapshotQueries';
import { triggerError } from './pass/passErrors';
import type { ChangeStaging, StagedProjection } from './staging';
import { stableStringify, writtenContentHash } from './values';
import { entitySideKey } from '../util/keys';
import { groupInto } from '../util/collections';

/** Whether a pass lists the side whole: its system has no change feed, or none it can filter by version. */
export function listsWhole(capabilities: ConnectorCapabilities): boolean {
  return capabilities.changeFeed === false || !capabilities.incremental;
}

/**
 * Where a pass learns which linked records are gone from a side (SPEC §7): from its whole listing, from a scan of
 * every id (`scanIds`), or nowhere (deletes arrive as soft deletes or webhook events, or not at all). A side listed
 * whole that could be scanned needs no scan: the listing holds every id already.
 */
export function hardDeletesFrom(capabilities: ConnectorCapabilities, config: Pick<TriggerConfig, 'deletedFlag'>): 'listing' | 'scan' | 'none' {
  if (capabilities.changeFeed === false) return 'listing';
  if (!capabilities.fullScan || config.deletedFlag) return 'none';
  return capabilities.incremental ? 'scan' : 'listing';
}

/**
 * The hash a link keeps of its shadow, and a listed record's projection is compared by: one definition for both. Key
 * order does not count (as in `sameValue`). Node's one-shot `hash` costs a third of a `createHash` per record, which a
 * listing of 100,000 records notices.
 */
export function shadowHash(shadow: FlowRecord): string {
  return hash('sha256', stableStringify(shadow), 'base64url').slice(0, 22);
}

/** One side to list whole, and what the pass lends the listing. */
export interface SnapshotSide {
  db: StateDb;
  flowId: string;
  nodeId: string;
  connector: Connector;
  staging: ChangeStaging;
  pageSize: number;
  /** A dry run stores nothing: no hash of an old shadow, no write's mark cleared. */
  dryRun: boolean;
  /** Whether linked records absent from the listing are deletes (see {@link hardDeletesFrom}). */
  findDeletes: boolean;
  /** The record projected into the conflict node's vocabulary, as the pass stages it. */
  project(record: SourceRecord): StagedProjection | Promise<StagedProjection>;
  /** An unchanged record holding exactly what the runtime last wrote to it: its own write come back (SPEC §6). */
  echo(recordId: string, entityId: string): void;
  /** Records listed so far. */
  progress?(read: number): void;
}

/** What one whole listing found. */
export interface SnapshotOutcome {
  /** Distinct records listed, soft-deleted ones included, and those found by id after the listing passed them by. */
  listed: number;
  /** Records staged as changes: different from their shadow, not linked, or listed as deleted. */
  changed: number;
  /** Records equal to their shadow: neither staged nor merged. */
  unchanged: number;
  /** Linked records absent from the listing and not found when read by id: staged as deleted. */
  gone: number;
}

/** Lists one side whole and stages what differs from its shadows (see the top of this file). */
export async function stageSnapshot(side: SnapshotSide): Promise<SnapshotOutcome> {
  const outcome: SnapshotOutcome = { listed: 0, changed: 0, unchanged: 0, gone: 0 };
  let linkedListed = 0;
  let read = 0;
  let position: ListPosition | null = { since: null, afterId: null };
  while (position) {
    const page = await listPage(side, position);
    linkedListed += await stagePage(side, page.records, outcome);
    read += page.records.length;
    side.progress?.(read);
    if (page.next && samePosition(page.next, position)) {
      throw triggerError(side.nodeId, 'cannot list changes: the connector returned the position it was asked for as the next one, so the listing would never end');
    }
    position = page.next;
  }
  // Every live link listed (each counted once) means none can be missing: the walk below is for when one is.
  if (side.findDeletes && (await countLiveLinks(side.db, side.flowId, side.nodeId)) !== linkedListed) await stageGone(side, outcome);
  return outcome;
}

async function listPage(side: SnapshotSide, position: ListPosition): Promise<ListPage> {
  try {
    return await side.connector.listSince(position, side.pageSize);
  } catch (caught) {
    throw triggerError(side.nodeId, `cannot list changes: ${caught instanceof Error ? caught.message : String(caught)}`, caught);
  }
}

function samePosition(a: ListPosition, b: ListPosition): boolean {
  return a.since === b.since && a.afterId === b.afterId;
}

/**
 * Stages the records of one page that differ from their shadows and counts the echoes among the rest. Returns how many
 * of its records were listed for the first time in this pass and have a live link, for the delete check.
 */
async function stagePage(side: SnapshotSide, records: readonly SourceRecord[], outcome: SnapshotOutcome): Promise<number> {
  if (records.length === 0) return 0;
  const fresh = new Set(side.staging.addScanned(side.nodeId, records.map((record) => record.id)));
  outcome.listed += fresh.size;
  const digests = await shadowDigests(side.db, side.flowId, side.nodeId, [...new Set(records.map((record) => record.id))]);
  let linked = 0;
  for (const id of fresh) if (digests.get(id)?.live) linked++;

  const changed: Array<{ record: SourceRecord } & StagedProjection> = [];
  const hashed: Array<{ recordId: string; shadow: string; hash: string }> = [];
  const echoed = new Set<string>();
  for (const record of records) {
    const projected = side.project(record);
    const staged = projected instanceof Promise ? await projected : projected;
    const digest = digests.get(record.id);
    if (!digest || !equalToShadow(record, staged, digest, hashed)) {
      changed.push({ record, ...staged });
      continue;
    }
    outcome.unchanged++;
    // Counted once per record: the link's mark of the write goes once counted, so a later pass does not count the
    // same write again.
    if (!digest.written || !fresh.has(record.id) || echoed.has(record.id)) continue;
    if (digest.written.hash !== writtenContentHash(record.fields)) continue;
    echoed.add(record.id);
    side.echo(record.id, digest.entityId);
  }
  side.staging.add(side.nodeId, changed);
  outcome.changed += changed.length;
  if (!side.dryRun) {
    await storeShadowHashes(side.db, side.flowId, side.nodeId, hashed);
    await clearWrittenMarks(side.db, side.flowId, side.nodeId, [...echoed]);
  }
  return linked;
}

/**
 * Whether a listed record is as its shadow left it. A link saved before shadows were hashed is compared by its shadow,
 * whose hash is then kept (`hashed`) so the next pass compares hashes.
 */
function equalToShadow(record: SourceRecord, staged: StagedProjection, digest: ShadowDigest, hashed: Array<{ recordId: string; shadow: string; hash: string }>): boolean {
  if (!digest.live || record.deleted || staged.projection === null) return false;
  if (digest.hash === null) {
    if (digest.shadow === null) return false;
    digest.hash = shadowHash(JSON.parse(digest.shadow) as FlowRecord);
    hashed.push({ recordId: record.id, shadow: digest.shadow, hash: digest.hash });
  }
  return digest.hash === shadowHash(staged.projection);
}

/** Walks the side's live links for those the listing did not hold; stages the ones that reading by id does not find. */
async function stageGone(side: SnapshotSide, outcome: SnapshotOutcome): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const ids = await liveLinkIdsAfter(side.db, side.flowId, side.nodeId, after, side.pageSize * 4);
    if (ids.length === 0) return;
    after = ids.at(-1) as string;
    for (const missing of chunked(side.staging.missingFromScan(side.nodeId, ids), side.pageSize)) {
      const found = await side.connector.getMany(missing);
      // Still there: the listing passed it by. It is compared as if listed, so its changes are not missed either.
      const present = missing.map((id) => found.get(id)).filter((record): record is SourceRecord => record !== undefined && !record.deleted);
      await stagePage(side, present, outcome);
      const still = new Set(present.map((record) => record.id));
      const gone = missing.filter((id) => !still.has(id));
      side.staging.add(
        side.nodeId,
        gone.map((id) => ({ record: { id, version: null, tag: null, deleted: true, fields: {} }, projection: null, problem: null, dropped: false, matchKey: null })),
      );
      outcome.gone += gone.length;
    }
  }
}

/**
 * Whether a whole listing held every record of the side, as far as the system can tell. A listing paged by position
 * passes over a record when one before it is deleted meanwhile; crash recovery asks this before it concludes that a
 * create a dead pass journaled made nothing there (creating again would duplicate a record the listing merely passed
 * by). The evidence is the system's own count of its records (`count`, where it can give one cheaply), taken after
 * the listing: more records than it found, soft-deleted ones included, means it passed some by (or that some were
 * added meanwhile: the create then waits a pass). Without a count, a listing that ran to its end is taken as whole.
 */
export async function listingHeldAll(connector: Connector, outcome: SnapshotOutcome): Promise<boolean> {
  if (!connector.count || !connector.capabilities.fullScan) return true;
  return (await connector.count()) <= outcome.listed;
}

/**
 * Whether a hint pass must list the sides it left unlisted (`unlisted`, listed whole) before it merges. A hint pass
 * reads only the hinted records, and a side listed whole has no cheap way to say what changed on it since the last
 * pass; but an entity may be created on such a side — a staged record not linked yet, or an entity merged again
 * (`revisit`: a create that failed before) — and a record added there since the last pass might be the same entity:
 * creating it would make a duplicate. So when the flow matches by fields and such a create may happen, every unlisted
 * side is listed whole (each listing may bring unlinked records of its own, which could be created on the others).
 */
export async function hintsMayCreate(
  db: StateDb,
  flowId: string,
  staging: ChangeStaging,
  matchFields: readonly string[],
  unlisted: readonly string[],
  revisit: Iterable<string>,
): Promise<boolean> {
  if (matchFields.length === 0 || unlisted.length === 0) return false;
  const candidates = new Map<string, string[]>();
  for (let afterSeq = 0; ; ) {
    const page = staging.page(afterSeq, 500);
    if (page.length === 0) break;
    afterSeq = (page.at(-1) as { seq: number }).seq;
    for (const change of page) {
      if (change.record.deleted || change.matchKey === null) continue;
      groupInto(candidates, change.nodeId, change.recordId);
    }
  }
  for (const [nodeId, ids] of candidates) {
    const live = await liveLinkedIds(db, flowId, nodeId, ids);
    if (ids.some((id) => !live.has(id))) return true;
  }
  const entities = (await entitiesById(db, [...revisit])).filter((entity) => entity.match_key !== null && entity.deleted === 0);
  if (entities.length === 0) return false;
  const linked = new Set((await linksByEntity(db, entities.map((entity) => entity.id))).map((link) => entitySideKey(link.entity_id, link.node_id)));
  return entities.some((entity) => unlisted.some((nodeId) => !linked.has(entitySideKey(entity.id, nodeId))));
}
