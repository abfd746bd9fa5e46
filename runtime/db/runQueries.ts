import { sql } from 'kysely';
import { deleteInChunks } from './bulk';
import { insertMany, type Db } from './queries';
import type { RunLogRow, RunLogTable, RunRow } from './schema';
import type { FieldChange, PassSummary, RecordOutcome, RunLogEntry, RunReason, RunStatus, RunView } from '../engine/types';

/** How many passes of a flow the run history keeps; a flow polled every 5 s makes 17,280 a day. */
export const RUN_HISTORY_KEPT = 1000;

/** Log rows deleted per statement while pruning: a few milliseconds each, so nothing waits long for the lock. */
const PRUNE_CHUNK_ROWS = 2000;

/**
 * Forgets a flow's oldest runs and their per-record logs, keeping the newest `keep`. Returns how many runs went.
 *
 * The logs go a chunk at a time, with a pause between chunks. Under a webhook load a flow runs a hundred passes a second
 * and one prune deletes tens of thousands of log rows: in one statement that held the state's write lock (and the
 * server's thread) for about 100 ms, and the pass worker's next transaction waited all of it.
 */
export async function pruneRunHistory(db: Db, flowId: string, keep = RUN_HISTORY_KEPT, chunkRows = PRUNE_CHUNK_ROWS): Promise<number> {
  const boundary = await db
    .selectFrom('runs')
    .select(['started_at'])
    .where('flow_id', '=', flowId)
    .orderBy('started_at', 'desc')
    .limit(1)
    .offset(keep)
    .executeTakeFirst();
  if (!boundary) return 0;
  const old = sql`select id from runs where flow_id = ${flowId} and started_at <= ${boundary.started_at}`;
  await deleteInChunks(db, sql`delete from run_log where id in (select id from run_log where run_id in (${old}) limit ${chunkRows})`, chunkRows);
  // A run whose log is gone but which is still listed shows an empty log, so the runs go last.
  const deleted = await db.deleteFrom('runs').where('flow_id', '=', flowId).where('started_at', '<=', boundary.started_at).executeTakeFirst();
  return Number(deleted.numDeletedRows);
}

type Summary = NonNullable<RunView['summary']>;

/** A run's stored summary, or null when it has none or it does not parse. */
export function parseSummary(text: string | null): Summary | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as Summary;
  } catch {
    return null;
  }
}

/** Records a pass wrote: creates, updates and deletes over all sides. */
export function changeCount(summary: Summary | null): number {
  return summary ? summary.created + summary.updated + summary.deleted : 0;
}

/** Which runs a history page shows: all, those that wrote something, those with failures, those that filed conflicts. */
export type RunFilter = 'all' | 'changes' | 'failed' | 'conflicts';

function matches(filter: RunFilter, run: RunView): boolean {
  if (filter === 'all') return true;
  if (filter === 'changes') return changeCount(run.summary) > 0;
  if (filter === 'failed') return run.status === 'failed' || run.status === 'stopped' || (run.summary?.failed ?? 0) > 0;
  return (run.summary?.conflicts ?? 0) > 0;
}

/** A runs row as the API shows it. */
function runViewOf(row: RunRow): RunView {
  return {
    id: row.id,
    flowId: row.flow_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status as RunView['status'],
    reason: row.reason as RunView['reason'],
    dryRun: row.dry_run === 1,
    summary: parseSummary(row.summary),
    error: row.error,
    process: row.process ?? null,
  };
}

const SCAN_ROWS = 200;

/**
 * One page of a flow's run history, newest first: at most `limit` runs that pass `filter`, older than the run
 * `before` when given (a cursor: the last run of the previous page). Returns null when `before` is not a run of this
 * flow. Filters look inside each run's summary, so rows are read a chunk at a time until the page is full; the
 * history holds at most RUN_HISTORY_KEPT runs a flow, which bounds the scan.
 */
export async function listRunPage(
  db: Db,
  flowId: string,
  options: { filter: RunFilter; before: string | null; limit: number },
): Promise<RunView[] | null> {
  let cursor: { startedAt: string; id: string } | null = null;
  if (options.before !== null) {
    const row = await db.selectFrom('runs').select(['started_at', 'id']).where('id', '=', options.before).where('flow_id', '=', flowId).executeTakeFirst();
    if (!row) return null;
    cursor = { startedAt: row.started_at, id: row.id };
  }
  const page: RunView[] = [];
  for (;;) {
    let query = db.selectFrom('runs').selectAll().where('flow_id', '=', flowId);
    if (cursor) {
      const { startedAt, id } = cursor;
      query = query.where((eb) => eb.or([eb('started_at', '<', startedAt), eb.and([eb('started_at', '=', startedAt), eb('id', '<', id)])]));
    }
    const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(SCAN_ROWS).execute();
    for (const row of rows) {
      const run = runViewOf(row);
      if (matches(options.filter, run)) page.push(run);
      if (page.length === options.limit) return page;
    }
    const last = rows.at(-1);
    if (rows.length < SCAN_ROWS || !last) return page;
    cursor = { startedAt: last.started_at, id: last.id };
  }
}

/**
 * Records that a pass of the flow began: its run shows `running` until {@link finishRun}. It is numbered after the
 * flow's runs recorded so far (`seq`), in the same statement.
 */
export async function startRun(db: Db, run: { id: string; flowId: string; startedAt: string; reason: RunReason; process?: string | null }): Promise<void> {
  await db
    .insertInto('runs')
    .values((eb) => ({
      id: run.id,
      flow_id: run.flowId,
      seq: eb.selectFrom('runs').select(sql<number>`coalesce(max(seq), 0) + 1`.as('next')).where('flow_id', '=', run.flowId),
      started_at: run.startedAt,
      finished_at: null,
      status: 'running',
      ...(run.process ? { process: run.process } : {}),
      reason: run.reason,
      dry_run: 0,
      summary: null,
      error: null,
    }))
    .execute();
}

/** Records how a run ended. */
export async function finishRun(db: Db, runId: string, end: { finishedAt: string; status: RunStatus; summary: PassSummary; error: string | null }): Promise<void> {
  await db
    .updateTable('runs')
    .set({ finished_at: end.finishedAt, status: end.status, summary: JSON.stringify(end.summary), error: end.error })
    .where('id', '=', runId)
    .execute();
}

/** Appends lines to a run's per-record log. */
export async function appendRunLog(db: Db, runId: string, log: readonly RunLogEntry[]): Promise<void> {
  // No id: the database numbers the lines. (SQLite would also number a null id; PostgreSQL refuses one.)
  const rows: Array<Omit<RunLogTable, 'id'>> = log.map((entry) => ({
    run_id: runId,
    node_id: entry.nodeId,
    record_id: entry.recordId,
    entity_id: entry.entityId,
    outcome: entry.outcome,
    fields: entry.fields.length ? JSON.stringify(entry.fields) : null,
    message: entry.message,
    at: entry.at,
  }));
  // insertMany's rows are the table's whole type, which names the id.
  await insertMany(db, 'run_log', rows as RunLogTable[]);
}

/** A flow's newest runs, newest first. */
export async function listRuns(db: Db, flowId: string, limit = 50): Promise<RunView[]> {
  const rows = await db.selectFrom('runs').selectAll().where('flow_id', '=', flowId).orderBy('started_at', 'desc').limit(limit).execute();
  return rows.map(runViewOf);
}

/** A run with its per-record log, or null when there is no such run. */
export async function getRun(db: Db, runId: string): Promise<{ run: RunView; log: RunLogEntry[] } | null> {
  const row = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!row) return null;
  const log = await db.selectFrom('run_log').selectAll().where('run_id', '=', runId).orderBy('id').execute();
  return { run: runViewOf(row), log: log.map(runLogEntryOf) };
}

/** A run_log row as the API shows it. */
export function runLogEntryOf(entry: RunLogRow): RunLogEntry {
  return {
    nodeId: entry.node_id,
    recordId: entry.record_id,
    entityId: entry.entity_id,
    outcome: entry.outcome as RecordOutcome,
    fields: entry.fields ? (JSON.parse(entry.fields) as FieldChange[]) : [],
    message: entry.message,
    at: entry.at,
  };
}
