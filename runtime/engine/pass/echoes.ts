/**
 * The runtime's own writes come back as changes (SPEC §6). On a side that stores tags, each carries the tag of its
 * journal entry; on one that cannot, it comes back equal to its shadow, and the journal's hash of what was written
 * tells that it is an echo. Either way it is counted and logged as one, and merges as nothing.
 */
import type { SourceRecord } from '../../connectors/types';
import { journalByRecord, journalByTags } from '../../db/queries';
import type { CompiledPart } from '../graph';
import { sameValue, writtenContentHash } from '../values';
import type { EngineContext } from './context';
import type { EntityWork, PassState, SideWork } from './passState';

/** Of records listed on one side, those that are not the runtime's own tagged writes; the echoes are counted. */
export async function dropTaggedEchoes(ctx: Pick<EngineContext, 'db'>, pass: PassState, nodeId: string, records: readonly SourceRecord[]): Promise<SourceRecord[]> {
  const tags = records.map((record) => record.tag).filter((tag): tag is string => tag !== null && tag.startsWith(`syncline:${pass.flowId}:`));
  const journal = new Map((await journalByTags(ctx.db, tags)).map((row) => [row.tag, row]));
  return records.filter((record) => {
    const written = record.tag ? journal.get(record.tag) : undefined;
    if (!written || written.status !== 'done' || written.node_id !== nodeId || record.deleted || written.hash !== writtenContentHash(record.fields)) return true;
    pass.summary.echoes++;
    pass.record(nodeId, record.id, written.entity_id, 'echo', [], `own write ${record.tag}`);
    return false;
  });
}

/**
 * Of these records, equal to their shadows, the ones holding exactly what the runtime last wrote to them are its
 * own writes come back: counted and logged as echoes (SPEC §6). For sides that cannot store a tag.
 */
export async function countJournaledEchoes(ctx: Pick<EngineContext, 'db'>, pass: PassState, nodeId: string, records: readonly SourceRecord[]): Promise<void> {
  const byId = new Map(records.map((record) => [record.id, record]));
  for (const row of await journalByRecord(ctx.db, pass.flowId, nodeId, [...byId.keys()])) {
    const record = byId.get(row.record_id as string);
    if (record && row.hash === writtenContentHash(record.fields)) {
      pass.summary.echoes++;
      pass.record(nodeId, record.id, row.entity_id, 'echo', [], 'own write, equal to its shadow');
    }
  }
}

/**
 * On sides that cannot store a tag, the runtime's own write comes back as a change equal to the shadow. The
 * shadow already makes it harmless (SPEC §6); the journal's hash of what was written tells that it is an echo.
 */
export async function countUntaggedEchoes(ctx: Pick<EngineContext, 'db'>, part: CompiledPart, work: readonly EntityWork[], pass: PassState): Promise<void> {
  for (const trigger of part.triggers) {
    const candidates: SourceRecord[] = [];
    for (const item of work) {
      const side = item.sides.get(trigger.nodeId) as SideWork;
      if (side.staged && side.link && side.record && !side.record.deleted && side.shadow && side.projection && sameValue(side.shadow, side.projection)) {
        candidates.push(side.record);
      }
    }
    if (candidates.length > 0) await countJournaledEchoes(ctx, pass, trigger.nodeId, candidates);
  }
}
