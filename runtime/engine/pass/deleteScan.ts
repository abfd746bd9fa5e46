/**
 * Hard deletes on sides with a change feed (SPEC §7): a linked record that is gone says nothing in a listing of
 * changes, so a full scan of the side's ids finds it, unless counting the side's records proves that nothing linked
 * is gone (sideKnowledge.ts). Sides listed whole find theirs in the listing (snapshot.ts).
 *
 * Counting reads a whole index (about 11 ms a side of a million rows with its pages cached, 25–30 ms from the OS
 * cache), on every pass. Where the connector keeps a removal mark (`Connector.removalMark`: SQLite's `data_version`
 * of a connector kept open between passes) and the mark is the one of the last check that found the side whole,
 * nothing has left the side since but through the engine's own writes, whose links it keeps; so nothing linked can be
 * gone, and not even the count is needed. The guarantee is the count's: any removal by anyone else changes the mark,
 * and that pass counts (and scans when the count says so), whenever the removal happened.
 */
import type { Connector } from '../../connectors/types';
import { liveLinkIdsAfter } from '../../db/snapshotQueries';
import type { CompiledPart, CompiledTrigger } from '../graph';
import { hardDeletesFrom } from '../snapshot';
import type { ChangeStaging } from '../staging';
import type { EngineContext } from './context';
import type { PassState } from './passState';
import type { SideSurvey } from './sideKnowledge';
import { triggerError } from './passErrors';

/** Stages the linked records gone from each side that is scanned for them, unless counting proves none is. */
export async function stageHardDeletes(ctx: Pick<EngineContext, 'db'>, part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState, pageSize: number): Promise<void> {
  for (const trigger of part.triggers) {
    const connector = connectors.get(trigger.nodeId) as Connector;
    if (hardDeletesFrom(connector.capabilities, trigger.config) !== 'scan') continue;
    const survey = pass.surveys.get(trigger.nodeId) as SideSurvey;
    // Read before the check: a removal after it changes the mark, so the next pass checks again.
    const mark = connector.removalMark ? await onSide(trigger.nodeId, () => (connector.removalMark as () => Promise<string | null>)()) : null;
    const markedBefore = survey.mark;
    survey.mark = mark;
    const linked = survey.liveLinks ?? 0;
    if (linked === 0) {
      // Nothing linked, nothing to lose; the side is clean after this pass if the pass listed all of it.
      survey.cleanBefore = survey.unlinkedListed !== null && connector.count !== undefined && (await onSide(trigger.nodeId, connector.count.bind(connector))) === survey.unlinkedListed.length;
      continue;
    }
    if (survey.cleanBefore && survey.unlinkedListed && mark !== null && mark === markedBefore) continue;
    if (survey.cleanBefore && survey.unlinkedListed && connector.count && (await onSide(trigger.nodeId, connector.count.bind(connector))) === linked + survey.unlinkedListed.length) continue;
    await scanSide(ctx, trigger, connector, staging, pass, survey, pageSize);
  }
}

/** Scans one side's ids, stages its linked records that are gone, and updates what the pass knows of the side. */
async function scanSide(
  ctx: Pick<EngineContext, 'db'>,
  trigger: CompiledTrigger,
  connector: Connector,
  staging: ChangeStaging,
  pass: PassState,
  survey: SideSurvey,
  pageSize: number,
): Promise<void> {
  const scanned = await onSide(trigger.nodeId, async () => {
    let count = 0;
    for await (const ids of connector.scanIds(pageSize * 4)) {
      staging.addScanned(trigger.nodeId, ids);
      count += ids.length;
    }
    return count;
  });
  // Every record id sorts after the empty one.
  let after = '';
  let missing = 0;
  let linkedNow = 0;
  for (;;) {
    const links = await liveLinkIdsAfter(ctx.db, pass.flowId, trigger.nodeId, after, pageSize * 4);
    if (links.length === 0) break;
    after = links[links.length - 1] as string;
    linkedNow += links.length;
    const notScanned = staging.missingFromScan(trigger.nodeId, links);
    missing += notScanned.length;
    const gone = notScanned.filter((id) => !staging.get(trigger.nodeId, id));
    staging.add(
      trigger.nodeId,
      gone.map((id) => ({ record: { id, version: null, tag: null, deleted: true, fields: {} }, projection: null, problem: null, dropped: false, matchKey: null })),
    );
  }
  // The scan counted the live links afresh; what the previous pass handed on should agree.
  survey.liveLinks = linkedNow;
  // Present but not linked: fine if each was listed by this pass (it is being linked now), a stray otherwise.
  const stray = scanned - (linkedNow - missing);
  const listedPresent = survey.unlinkedListed === null ? null : survey.unlinkedListed.length - staging.missingFromScan(trigger.nodeId, survey.unlinkedListed).length;
  if (stray === 0) {
    // Every record present was linked: whatever this pass listed unlinked is gone already.
    survey.unlinkedListed = [];
    survey.cleanBefore = true;
  } else {
    survey.cleanBefore = stray === listedPresent;
  }
}

/**
 * A call to a side that fails names its trigger, as a listing's does (stage.ts), so that the pass's error is put on
 * that node: a rate limit met on the count or the scan shows on the trigger it holds.
 */
async function onSide<T>(nodeId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (caught) {
    throw triggerError(nodeId, `cannot check for deletes: ${caught instanceof Error ? caught.message : String(caught)}`, caught);
  }
}
