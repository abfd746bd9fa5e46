/**
 * How a commit stores what it decided about links: each link's row (its entity, shadow and the version it was synced
 * at), removed, or kept as a tombstone.
 */
import type { FlowRecord } from '../../../nodes/types';
import type { Version } from '../../connectors/types';
import { deleteLinks, markLinksDeleted, upsertLinks, type Db, type LiveLinkDelta } from '../../db/queries';
import type { LinkRow } from '../../db/schema';
import { shadowHash } from '../snapshot';
import type { PassState } from './passState';
import { sideRecordKey } from '../../util/keys';
import { groupInto } from '../../util/collections';

/** A version as a link stores it: JSON, so the number 5 and the text "5" stay apart as `sameVersion` keeps them. */
function storedVersion(version: Version | null): string | null {
  return version === null ? null : JSON.stringify(version);
}

/** Whether a link was synced at this version (`sameVersion`, on the stored form). */
export function sameStoredVersion(stored: string | null, version: Version | null): boolean {
  return stored === storedVersion(version);
}

/**
 * A live link of a record to its entity, with the side's shadow (null until the side is synced) and version, and the
 * runtime's write to it when this link records one (null keeps the mark of an earlier write, upsertLinks).
 */
export function linkRow(
  pass: PassState,
  nodeId: string,
  recordId: string,
  entityId: string,
  shadow: FlowRecord | null,
  version: Version | null,
  stamp: string,
  written: { tag: string; hash: string } | null = null,
): LinkRow {
  return {
    flow_id: pass.flowId,
    node_id: nodeId,
    record_id: recordId,
    entity_id: entityId,
    shadow: shadow === null ? null : JSON.stringify(shadow),
    // Taken where a listing will compare it (snapshot.ts); elsewhere it would be paid for on every write and never read.
    shadow_hash: shadow !== null && pass.listedWhole.has(nodeId) ? shadowHash(shadow) : null,
    version: storedVersion(version),
    deleted: 0,
    updated_at: stamp,
    written_tag: written?.tag ?? null,
    written_hash: written?.hash ?? null,
  };
}

type LinkChange = { nodeId: string; recordId: string; kind: 'save'; row: LinkRow } | { nodeId: string; recordId: string; kind: 'remove' | 'tombstone' };

/**
 * The link changes of one commit, applied as a few statements instead of one per link. Each link keeps the outcome
 * of the last decision about it, which is what the decisions would leave if each ran as its own statement.
 */
export class LinkChanges {
  private readonly changes = new Map<string, LinkChange>();
  constructor(private readonly flowId: string) {}

  save(row: LinkRow): void {
    this.set(row.node_id, row.record_id, { nodeId: row.node_id, recordId: row.record_id, kind: 'save', row });
  }

  remove(nodeId: string, recordId: string): void {
    this.set(nodeId, recordId, { nodeId, recordId, kind: 'remove' });
  }

  /** Marks the link deleted, keeping what else it says. */
  tombstone(nodeId: string, recordId: string): void {
    const key = sideRecordKey(nodeId, recordId);
    const earlier = this.changes.get(key);
    // A tombstone over a saved row is that row, deleted; over a removed link there is nothing left to mark.
    if (earlier?.kind === 'save') this.set(nodeId, recordId, { ...earlier, row: { ...earlier.row, deleted: 1 } });
    else if (earlier?.kind !== 'remove') this.set(nodeId, recordId, { nodeId, recordId, kind: 'tombstone' });
  }

  private set(nodeId: string, recordId: string, change: LinkChange): void {
    const key = sideRecordKey(nodeId, recordId);
    this.changes.delete(key);
    this.changes.set(key, change);
  }

  /**
   * Applies the changes; with `delta`, adds to it how many live links each side gains (or loses). Each link has one
   * change, so the statements' order does not matter to the count.
   */
  async apply(tx: Db, delta: LiveLinkDelta | null): Promise<void> {
    const removed = new Map<string, string[]>();
    const tombstoned = new Map<string, string[]>();
    const saved: LinkRow[] = [];
    for (const change of this.changes.values()) {
      if (change.kind === 'save') saved.push(change.row);
      else {
        groupInto(change.kind === 'remove' ? removed : tombstoned, change.nodeId, change.recordId);
      }
    }
    for (const [nodeId, ids] of removed) await deleteLinks(tx, this.flowId, nodeId, ids, delta);
    for (const [nodeId, ids] of tombstoned) await markLinksDeleted(tx, this.flowId, nodeId, ids, delta);
    await upsertLinks(tx, saved, delta);
  }
}
