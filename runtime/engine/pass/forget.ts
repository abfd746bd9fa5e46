/** Forgetting: what passes learned about a flow, when its links change outside a pass, or all of a flow's state. */
import { deleteFlowState } from '../../db/forgetQueries';
import { deleteKnowledge } from '../../db/knowledgeQueries';
import type { Db } from '../../db/queries';
import type { RunningPasses } from './passState';

/** Links of the flow change outside a pass: what passes learned (or are learning) about them no longer holds. */
export async function forgetKnowledge(db: Db, running: RunningPasses, flowId: string): Promise<void> {
  running.overlapAll(flowId);
  await deleteKnowledge(db, flowId);
}

/**
 * Drops all of a flow's state: links, golden records, cursors, journal, runs, conflicts. In bounded statements of
 * `chunk` rows, each its own commit (see deleteFlowState); interrupted, it leaves part of the state behind, and
 * forgetting the flow again finishes the job.
 */
export async function forgetFlow(db: Db, running: RunningPasses, flowId: string, chunk: number): Promise<void> {
  await forgetKnowledge(db, running, flowId);
  await deleteFlowState(db, flowId, chunk);
}
