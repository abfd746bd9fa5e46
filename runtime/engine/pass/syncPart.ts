/** One connected part of a flow in one pass: stage every change, then link, plan and commit in pages. */
import type { Connector } from '../../connectors/types';
import { chunked, flowHasEntities } from '../../db/queries';
import type { CompiledPart } from '../graph';
import { ChangeStaging, type StagedChange } from '../staging';
import type { PassOptions } from '../types';
import { commitPage } from './commit';
import type { EngineContext } from './context';
import { stageHardDeletes } from './deleteScan';
import { countUntaggedEchoes } from './echoes';
import { buildWork, loadEntities, readUnreadSides } from './link';
import { guardMassDeletes } from './massDelete';
import { BULK_CHANGES, BULK_PAGE_SIZE, DEFAULT_PAGE_SIZE, MAX_REMERGES, type EntityWork, type PassState } from './passState';
import { heldFields, planPage, recordPlanned } from './plan';
import { adoptInterruptedCreates, adoptInterruptedWrites, readInterruptedPages, trimInterruptedPages } from './recovery';
import { learnedAbout, surveySides, type SideKnowledge } from './sideKnowledge';
import { listWholeBeforeCreating, stageChanges, stageHints, stageRetries } from './stage';

/** Syncs one part; returns what the next pass may take as known about its sides. */
export async function syncPart(
  ctx: EngineContext,
  part: CompiledPart,
  connectors: Map<string, Connector>,
  pass: PassState,
  options: PassOptions,
  known: Map<string, SideKnowledge> | null,
): Promise<Map<string, SideKnowledge>> {
  const staging = new ChangeStaging(ctx.stagingMemoryLimit);
  try {
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    // A hint pass still lists every side that can list incrementally (cheap with an index): creating a record
    // on a side whose unlisted changes might hold the same entity would make a duplicate.
    const cursors = await stageChanges(ctx, part, connectors, staging, pass, pageSize, options);
    if (options.hints) await stageHints(ctx, part, connectors, staging, pass, options.hints);
    await stageRetries(ctx, part, connectors, staging, pass);
    if (options.hints) await listWholeBeforeCreating(ctx, part, connectors, staging, pass, pageSize, options);
    pass.interrupted = await readInterruptedPages(ctx, pass);
    await adoptInterruptedCreates(ctx, part, connectors, staging, pass);
    await surveySides(ctx, part, connectors, staging, pass, known, !options.hints);
    if (!options.hints) await stageHardDeletes(ctx, part, connectors, staging, pass, pageSize);
    await guardMassDeletes(ctx, part, staging, pass);

    const mergePageSize = options.pageSize ?? (staging.countPending() > BULK_CHANGES ? BULK_PAGE_SIZE : DEFAULT_PAGE_SIZE);
    const held = await heldFields(ctx.db, pass.flowId);
    const linking = { firstImport: !(await flowHasEntities(ctx.db, pass.flowId)) };
    for (let afterSeq = 0; ; ) {
      const page = staging.page(afterSeq, mergePageSize);
      if (page.length === 0) break;
      afterSeq = (page[page.length - 1] as StagedChange).seq;
      await processPage(ctx, part, connectors, await buildWork(ctx, part, page, staging, pass, linking), held, pass);
      options.onProgress?.({ nodeId: part.conflictNodeId, read: afterSeq, written: pass.summary.created + pass.summary.updated + pass.summary.deleted });
    }
    // Entities to look at again although no side reported a change: resolved conflicts, failing writes, lost races.
    for (let round = 0; round <= MAX_REMERGES && pass.revisit.size > 0; round++) {
      const ids = [...pass.revisit];
      pass.revisit.clear();
      for (const chunk of chunked(ids, mergePageSize)) {
        const work = await loadEntities(ctx, part, chunk);
        for (const item of work) item.remerges = round + 1;
        await processPage(ctx, part, connectors, work, held, pass);
      }
    }
    await trimInterruptedPages(ctx, part, pass);
    // Saved when the run ends, in its last transaction: a crash before then lists these changes again, which finds
    // them synced (their links were committed page by page) and writes nothing.
    for (const [nodeId, cursor] of cursors) pass.cursors.set(nodeId, cursor);
    return await learnedAbout(ctx, part, pass);
  } finally {
    staging.close();
  }
}

/** Merges and writes a page of entities: read what is missing, recover, count echoes, plan, then commit. */
async function processPage(ctx: EngineContext, part: CompiledPart, connectors: Map<string, Connector>, work: EntityWork[], held: Map<string, Set<string>>, pass: PassState): Promise<void> {
  if (work.length === 0) return;
  await readUnreadSides(ctx, part, connectors, work);
  await adoptInterruptedWrites(ctx, work, pass);
  countUntaggedEchoes(part, work, pass);
  const plan = await planPage(ctx, part, connectors, work, held, pass);
  if (pass.dryRun) {
    recordPlanned(pass, plan.writes);
    return;
  }
  await commitPage(ctx, connectors, work, plan, pass);
}
