/** The mass-delete guard: a pass that would delete too much of a side stops for a person to review it. */
import { findMassDeleteReview, insertConflict } from '../../db/conflictQueries';
import { countLiveLinks, liveLinkedIds } from '../../db/queries';
import type { CompiledPart } from '../graph';
import type { ChangeStaging } from '../staging';
import { newConflict } from './conflicts';
import type { EngineContext } from './context';
import { PassStopped, type PassState } from './passState';

/**
 * Stops the pass for review when it would delete more than the configured share of a side's linked records. A
 * person's go-ahead covers the side they reviewed: another side's mass delete (in this part or another part of the
 * flow) stops the pass for a review of its own.
 */
export async function guardMassDeletes(ctx: Pick<EngineContext, 'db'>, part: CompiledPart, staging: ChangeStaging, pass: PassState): Promise<void> {
  if (part.conflict.deletes !== 'propagate') return;
  const { maxShare, minCount } = part.conflict.massDelete;
  // Cheap first: fewer deletes of any kind than the guard's minimum cannot trip it.
  if (staging.countPendingDeletes() < minCount) return;
  for (const trigger of part.triggers) {
    // Only a linked record can be deleted elsewhere: a hint or soft delete of a record never linked deletes nothing.
    const deleting = (await liveLinkedIds(ctx.db, pass.flowId, trigger.nodeId, staging.pendingDeleteIdsOf(trigger.nodeId))).size;
    if (deleting < minCount) continue;
    const approval = await findMassDeleteReview(ctx.db, pass.flowId, trigger.nodeId, 'resolved');
    if (approval) {
      // Used up once this part finishes (PassState.finishPart), whatever becomes of the rest of the pass.
      pass.approvalsInPart.add(approval);
      continue;
    }
    const count = await countLiveLinks(ctx.db, pass.flowId, trigger.nodeId);
    if (count > 0 && deleting > maxShare * count) {
      const message = `this pass would delete ${deleting} of the ${count} records linked on "${trigger.nodeId}" (more than ${Math.round(maxShare * 100)}%): stopped for review; resolve the mass-delete conflict to let it proceed`;
      if (!pass.dryRun && !(await findMassDeleteReview(ctx.db, pass.flowId, trigger.nodeId, 'open'))) {
        await insertConflict(ctx.db, newConflict(pass, null, 'mass-delete', trigger.nodeId, null, { [trigger.nodeId]: { deleting, linked: count } }));
        pass.summary.conflicts++;
      }
      throw new PassStopped(message);
    }
  }
}
