import { sql, type Kysely } from 'kysely';
import { oneOf } from './bulk';
import { jsonObjectEntries } from './dialect';
import type { Database } from './schema';

type Db = Kysely<Database>;

/** When each trigger of a flow last took part in a pass that finished, by node id. */
export async function lastPasses(db: Db, flowId: string): Promise<Map<string, string>> {
  const rows = await db.selectFrom('trigger_status').select(['node_id', 'last_pass_at']).where('flow_id', '=', flowId).execute();
  return new Map(rows.map((row) => [row.node_id, row.last_pass_at]));
}

/** Records of a flow that keep failing, per trigger (read from the primary key's index alone). */
export async function failingByNode(db: Db, flowId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('failing_records')
    .select(['node_id', (eb) => eb.fn.countAll<number>().as('count')])
    .where('flow_id', '=', flowId)
    .groupBy('node_id')
    .execute();
  return new Map(rows.map((row) => [row.node_id, Number(row.count)]));
}

/** How many conflicts of a flow are open: read from the index by flow and status alone. */
export async function countOpenConflicts(db: Db, flowId: string): Promise<number> {
  const row = await db
    .selectFrom('conflicts')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('flow_id', '=', flowId)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

/**
 * How many open conflicts of a flow name each key of their `sides` (a trigger id, for every kind of conflict). Found
 * through the index by flow and status, then each one's sides read: 75 ms at 100,000 open conflicts.
 */
export async function openConflictsBySide(db: Db, flowId: string): Promise<Map<string, number>> {
  const rows = await sql<{ side: string; count: number }>`
    select side.key as side, count(*) as count
    from conflicts, ${jsonObjectEntries(db, sql.ref<string>('conflicts.sides'))} as side
    where conflicts.flow_id = ${flowId} and conflicts.status = 'open'
    group by side.key`.execute(db);
  return new Map(rows.rows.map((row) => [row.side, Number(row.count)]));
}

/** The open conflicts that name one of `triggerIds` among their sides (the conflicts of one part of a flow). */
export async function openConflictsOfPart(db: Db, flowId: string, triggerIds: readonly string[]): Promise<number> {
  if (triggerIds.length === 0) return 0;
  const row = await sql<{ count: number }>`
    select count(distinct conflicts.id) as count
    from conflicts, ${jsonObjectEntries(db, sql.ref<string>('conflicts.sides'))} as side
    where conflicts.flow_id = ${flowId} and conflicts.status = 'open' and side.key in ${oneOf(triggerIds)}`.execute(db);
  return Number(row.rows[0]?.count ?? 0);
}

/** A run of the flow, as the canvas's live counts read it. */
export interface RecentRun {
  id: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  summary: string | null;
  error: string | null;
}

const recentRunColumns = ['id', 'status', 'started_at', 'finished_at', 'summary', 'error'] as const;
const asRecentRun = (row: { id: string; status: string; started_at: string; finished_at: string | null; summary: string | null; error: string | null }): RecentRun => ({
  id: row.id,
  status: row.status,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  summary: row.summary,
  error: row.error,
});

/**
 * The flow's passes (not dry runs) started at or after `since`, newest first; its newest pass, running or not; and its
 * newest pass that has finished, however old. Each walks the index by flow and start time; the history keeps at most
 * RUN_HISTORY_KEPT runs a flow.
 */
export async function recentRuns(db: Db, flowId: string, since: string): Promise<{ recent: RecentRun[]; newest: RecentRun | null; lastFinished: RecentRun | null }> {
  const passes = db.selectFrom('runs').select(recentRunColumns).where('flow_id', '=', flowId).where('dry_run', '=', 0);
  const recent = await passes.where('started_at', '>=', since).orderBy('started_at', 'desc').execute();
  const newest = recent[0] ?? (await passes.orderBy('started_at', 'desc').limit(1).executeTakeFirst());
  const lastFinished = await passes.where('status', '!=', 'running').orderBy('started_at', 'desc').limit(1).executeTakeFirst();
  return { recent: recent.map(asRecentRun), newest: newest ? asRecentRun(newest) : null, lastFinished: lastFinished ? asRecentRun(lastFinished) : null };
}

/**
 * Rows read per statement by the counts below: about 10 ms of the server's thread each at a million rows, so a count
 * over a large flow never holds the thread (and the requests behind it) for long.
 */
export const COUNT_STEP_ROWS = 20_000;

/** What a count does between its steps: let the other requests and the pass worker's commits go first. */
export type BetweenSteps = () => Promise<void>;

/** Gives the event loop back: an awaited query resolves as a microtask, which lets no request in. */
export const yieldToOthers: BetweenSteps = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The trigger's records in sync: its links to an entity that it still holds (not tombstoned by a delete policy).
 *
 * The links table is its primary key (flow, node, record) and holds each shadow, so counting a side reads all of its
 * rows: 190 ms of one statement at a million links. It is read in steps of COUNT_STEP_ROWS along the key instead,
 * `between` called after each. A pass committing meanwhile may be counted in part; the next count sees all of it.
 */
export async function countSyncedInSteps(db: Db, flowId: string, nodeId: string, between: BetweenSteps = yieldToOthers, stepRows = COUNT_STEP_ROWS): Promise<number> {
  let synced = 0;
  let after: string | null = null;
  for (;;) {
    const step = await linksAfter(db, flowId, nodeId, after, stepRows);
    synced += step.rows - step.tombstones;
    if (step.rows < stepRows || step.last === null) return synced;
    after = step.last;
    await between();
  }
}

/** One step of countSyncedInSteps: the next `stepRows` links of a side after the record `after`. */
async function linksAfter(db: Db, flowId: string, nodeId: string, after: string | null, stepRows: number): Promise<{ rows: number; tombstones: number; last: string | null }> {
  let links = db.selectFrom('links').select(['record_id', 'deleted']).where('flow_id', '=', flowId).where('node_id', '=', nodeId);
  if (after !== null) links = links.where('record_id', '>', after);
  const row = await db
    .selectFrom(links.orderBy('record_id').limit(stepRows).as('chunk'))
    .select((eb) => [eb.fn.countAll<number>().as('rows'), eb.fn.max('chunk.record_id').as('last'), eb.fn.sum<number>('chunk.deleted').as('gone')])
    .executeTakeFirst();
  return { rows: Number(row?.rows ?? 0), tombstones: Number(row?.gone ?? 0), last: row?.last ?? null };
}

/** The outcomes that wrote a record on a side (SPEC §8's created, updated, deleted). */
const WRITES = ['created', 'updated', 'deleted'];

/**
 * Records one run wrote, per trigger (the side written), from its per-record log, read in steps of COUNT_STEP_ROWS
 * along the index by run. A finished run's log does not change: callers keep the answer.
 */
export async function runWritesInSteps(db: Db, runId: string, between: BetweenSteps = yieldToOthers, stepRows = COUNT_STEP_ROWS): Promise<Map<string, number>> {
  const writes = new Map<string, number>();
  let after = 0;
  for (;;) {
    const chunk = db
      .selectFrom('run_log')
      .select(['id', 'node_id'])
      .where('run_id', '=', runId)
      .where('id', '>', after)
      .where('outcome', 'in', WRITES)
      .orderBy('id')
      .limit(stepRows)
      .as('chunk');
    const rows = await db
      .selectFrom(chunk)
      .select(['chunk.node_id', (eb) => eb.fn.countAll<number>().as('count'), (eb) => eb.fn.max('chunk.id').as('last')])
      .groupBy('chunk.node_id')
      .execute();
    let read = 0;
    for (const row of rows) {
      read += Number(row.count);
      writes.set(row.node_id, (writes.get(row.node_id) ?? 0) + Number(row.count));
      after = Math.max(after, Number(row.last));
    }
    if (read < stepRows) return writes;
    await between();
  }
}

/** Records that these triggers took part in a pass that finished at `at`. */
export async function recordTriggerPass(db: Db, flowId: string, nodeIds: readonly string[], at: string): Promise<void> {
  if (nodeIds.length === 0) return;
  await db
    .insertInto('trigger_status')
    .values(nodeIds.map((nodeId) => ({ flow_id: flowId, node_id: nodeId, last_pass_at: at })))
    .onConflict((oc) => oc.columns(['flow_id', 'node_id']).doUpdateSet({ last_pass_at: at }))
    .execute();
}

/** A trigger held by its system's rate limit (runtime/engine/pass/holds.ts). */
export interface TriggerHold {
  /** When the system refused (ISO-8601). */
  since: string;
  /** When it said to come back (ISO-8601): until then, a refusal is the same limit again, not news. */
  until: string;
  /** The part's error when its system refused: what the system said, for a person. */
  reason: string;
}

/** The triggers of a flow held by a rate limit at some time (holds whose time is past included), by node id. */
export async function triggerHolds(db: Db, flowId: string): Promise<Map<string, TriggerHold>> {
  const rows = await db
    .selectFrom('trigger_status')
    .select(['node_id', 'held_at', 'held_until', 'held_reason'])
    .where('flow_id', '=', flowId)
    .where('held_until', 'is not', null)
    .execute();
  // The three are written together (holdTriggers): a row with a time to come back has the others.
  return new Map(rows.map((row) => [row.node_id, { since: row.held_at as string, until: row.held_until as string, reason: row.held_reason as string }]));
}

/**
 * Holds these triggers (since when, until when, why), or releases them (null). A trigger's row is made by
 * {@link recordTriggerPass} of the same pass, which a held trigger took part in.
 */
export async function holdTriggers(db: Db, flowId: string, nodeIds: readonly string[], hold: TriggerHold | null): Promise<void> {
  if (nodeIds.length === 0) return;
  let query = db
    .updateTable('trigger_status')
    .set({ held_at: hold?.since ?? null, held_until: hold?.until ?? null, held_reason: hold?.reason ?? null })
    .where('flow_id', '=', flowId)
    .where('node_id', 'in', nodeIds);
  if (hold === null) query = query.where('held_until', 'is not', null);
  await query.execute();
}

/**
 * A run left `running` by a process (or, with `only`, a pass worker) that was killed is marked failed, so history does
 * not show it running forever.
 */
export async function failInterruptedRuns(
  db: Db,
  now: string,
  only: { flowIds: readonly string[]; error: string } | null = null,
): Promise<number> {
  let query = db
    .updateTable('runs')
    .set({ status: 'failed', finished_at: now, error: only?.error ?? 'interrupted: the runtime stopped during this pass; it is redone on the next pass' })
    .where('status', '=', 'running');
  if (only) {
    if (only.flowIds.length === 0) return 0;
    query = query.where('flow_id', 'in', only.flowIds);
  }
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The flow a conflict belongs to, or undefined for an unknown conflict id. */
export async function conflictFlowId(db: Db, conflictId: string): Promise<string | undefined> {
  const row = await db.selectFrom('conflicts').select('flow_id').where('id', '=', conflictId).executeTakeFirst();
  return row?.flow_id;
}
