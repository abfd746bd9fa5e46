import type { FlowRecord } from '../../nodes/types';
import { provenanceRunIds, readProvenance, type Provenance } from '../engine/provenance';
import type { ConflictView, RunLogEntry } from '../engine/types';
import { oneOf } from './bulk';
import { conflictView } from './conflictQueries';
import type { Db } from './queries';
import { runLogEntryOf } from './runQueries';
import { linksOfSides } from './entitySides';
import type { EntityRow, LinkRow } from './schema';

/** What the record inspector reads of one entity (GET /api/flows/:id/entities/:entityId), as the state holds it. */
export interface EntityInspection {
  /** The entity's row, but its links' sides, which are `links`. */
  entity: Omit<EntityRow, 'sides'>;
  golden: FlowRecord;
  /** Where each golden value came from (`entity.provenance`, read). */
  provenance: Provenance;
  /** Its record on each side, tombstones included. */
  links: LinkRow[];
  openConflicts: ConflictView[];
  /** Its newest run-log lines, newest first, each with its run and when that run began. */
  log: Array<RunLogEntry & { runId: string; runStartedAt: string }>;
  /** When each run that set a field (in `provenance`) began, for those still in the history. */
  runsStarted: Map<string, string>;
}

/** How far back the inspector looks for an entity's log lines: the newest runs of its flow, and lines at most. */
export const INSPECTED_RUNS = 200;
export const INSPECTED_LOG_LINES = 20;

/**
 * One entity of a flow with its links, open conflicts and newest run-log lines; null when the flow has no such entity.
 *
 * The log has no index by entity (one would cost every line of every pass): each run's lines are found by the run's
 * index, and the entity's among them by a filter. So only the flow's newest {@link INSPECTED_RUNS} runs are read, with
 * the runs that set its fields (a field's last change may be older), which bounds the rows read however long the history.
 */
export async function inspectEntity(db: Db, flowId: string, entityId: string): Promise<EntityInspection | null> {
  const row = await db.selectFrom('entities').selectAll().where('id', '=', entityId).where('flow_id', '=', flowId).executeTakeFirst();
  if (!row) return null;
  // Its links' sides are shown as links, each in its own right, not as the stored blob.
  const { sides: _sides, ...entity } = row;
  const golden = JSON.parse(entity.golden) as FlowRecord;
  const provenance = readProvenance(entity.provenance, golden);
  const runIds = provenanceRunIds(entity.provenance);
  const links = linksOfSides(row).sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
  const conflicts = await db.selectFrom('conflicts').selectAll().where('entity_id', '=', entityId).where('status', '=', 'open').orderBy('created_at').execute();
  const recent = await db.selectFrom('runs').select(['id']).where('flow_id', '=', flowId).orderBy('started_at', 'desc').limit(INSPECTED_RUNS).execute();
  const looked = [...new Set([...recent.map((run) => run.id), ...runIds])];
  const lines =
    looked.length === 0
      ? []
      : await db
          .selectFrom('run_log')
          .innerJoin('runs', 'runs.id', 'run_log.run_id')
          .selectAll('run_log')
          .select('runs.started_at as run_started_at')
          .where('run_log.run_id', 'in', oneOf(looked))
          .where('run_log.entity_id', '=', entityId)
          .orderBy('run_log.id', 'desc')
          .limit(INSPECTED_LOG_LINES)
          .execute();
  const runsStarted = new Map<string, string>();
  if (runIds.length > 0) {
    for (const run of await db.selectFrom('runs').select(['id', 'started_at']).where('id', 'in', oneOf(runIds)).execute()) runsStarted.set(run.id, run.started_at);
  }
  return {
    entity,
    golden,
    provenance,
    links,
    openConflicts: conflicts.map(conflictView),
    log: lines.map((line) => ({ ...runLogEntryOf(line), runId: line.run_id, runStartedAt: line.run_started_at })),
    runsStarted,
  };
}
