/**
 * The runtime's own writes come back as changes (SPEC §6). On a side that stores tags, each carries the tag it was
 * written with; on one that cannot, it comes back equal to its shadow, and the hash of what was written tells that it
 * is an echo. Both are kept on the record's link (`written_tag`, `written_hash`) by the commit that made the write.
 * Either way it is counted and logged as one, and merges as nothing.
 */
import type { SourceRecord } from '../../connectors/types';
import type { LinkRow } from '../../db/schema';
import type { CompiledPart } from '../graph';
import { writeTagPrefix } from '../ids';
import { sameValue, writtenContentHash } from '../values';
import type { EntityWork, PassState, SideWork } from './passState';

/** Whether a listed record carries a tag of this flow's writes, which only the runtime writes. */
export function isOwnTag(pass: PassState, record: SourceRecord): boolean {
  return record.tag !== null && !record.deleted && record.tag.startsWith(writeTagPrefix(pass.flowId));
}

/**
 * Of records listed on one side, those that are not the runtime's own tagged writes come back (the tag and hash of the
 * last write, on the record's link: `links`, by record id); the echoes are counted.
 */
export function dropTaggedEchoes(pass: PassState, nodeId: string, records: readonly SourceRecord[], links: ReadonlyMap<string, LinkRow>): SourceRecord[] {
  return records.filter((record) => {
    const link = isOwnTag(pass, record) ? links.get(record.id) : undefined;
    if (!link || link.written_tag !== record.tag || link.written_hash !== writtenContentHash(record.fields)) return true;
    pass.summary.echoes++;
    pass.record(nodeId, record.id, link.entity_id, 'echo', [], `own write ${record.tag}`);
    return false;
  });
}

/**
 * Of these records, equal to their shadows, the ones holding exactly what the runtime last wrote to them (their
 * link's `written_hash`) are its own writes come back: counted and logged as echoes (SPEC §6). For sides that cannot
 * store a tag.
 */
export function countWrittenEchoes(pass: PassState, nodeId: string, listed: ReadonlyArray<{ record: SourceRecord; link: LinkRow }>): void {
  for (const { record, link } of listed) {
    if (link.written_hash !== null && link.written_hash === writtenContentHash(record.fields)) {
      pass.summary.echoes++;
      pass.record(nodeId, record.id, link.entity_id, 'echo', [], 'own write, equal to its shadow');
    }
  }
}

/**
 * On sides that cannot store a tag, the runtime's own write comes back as a change equal to the shadow. The
 * shadow already makes it harmless (SPEC §6); the journal's hash of what was written tells that it is an echo.
 */
export function countUntaggedEchoes(part: CompiledPart, work: readonly EntityWork[], pass: PassState): void {
  for (const trigger of part.triggers) {
    const candidates: Array<{ record: SourceRecord; link: LinkRow }> = [];
    for (const item of work) {
      const side = item.sides.get(trigger.nodeId) as SideWork;
      if (side.staged && side.link && side.record && !side.record.deleted && side.shadow && side.projection && sameValue(side.shadow, side.projection)) {
        candidates.push({ record: side.record, link: side.link });
      }
    }
    countWrittenEchoes(pass, trigger.nodeId, candidates);
  }
}
