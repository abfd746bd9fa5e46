import Sqlite from 'better-sqlite3';
import { Kysely, type CompiledQuery } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { stateDatabases } from '../../test/support/stateDatabases';
import { ImmediateSqliteDialect } from './immediateTransactions';
import { migrateToLatest } from './index';
import { down as downHolds, up as upHolds } from './migrations/2026_12_08_0900_trigger_holds';
import type { Database } from './schema';
import {
  countOpenConflicts,
  countSyncedInSteps,
  failingByNode,
  holdTriggers,
  lastPasses,
  openConflictsBySide,
  openConflictsOfPart,
  recentRuns,
  recordTriggerPass,
  runWritesInSteps,
  triggerHolds,
} from './statusQueries';

type Db = Kysely<Database>;
const opened: Db[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.destroy();
});

const at = '2026-12-01T10:00:00.000Z';

async function addLinks(db: Db, flowId: string, nodeId: string, count: number, tombstoneEvery = 0) {
  const rows = Array.from({ length: count }, (_, i) => ({
    flow_id: flowId,
    node_id: nodeId,
    // Ids that sort as text differently from numbers, as record ids do.
    record_id: String(i * 7),
    entity_id: `e${i}`,
    deleted: tombstoneEvery > 0 && i % tombstoneEvery === 0 ? 1 : 0,
  }));
  for (let i = 0; i < rows.length; i += 500) await db.insertInto('links').values(rows.slice(i, i + 500)).execute();
}

async function addRun(db: Db, id: string, options: { flowId?: string; startedAt?: string; status?: string; error?: string | null; summary?: object | null } = {}) {
  await db
    .insertInto('runs')
    .values({
      id,
      flow_id: options.flowId ?? 'f',
      started_at: options.startedAt ?? at,
      finished_at: options.status === 'running' ? null : (options.startedAt ?? at),
      status: options.status ?? 'ok',
      reason: 'schedule',
      dry_run: 0,
      summary: options.summary === undefined ? null : options.summary === null ? null : JSON.stringify(options.summary),
      error: options.error ?? null,
    })
    .execute();
}

async function addLog(db: Db, runId: string, rows: Array<[node: string, outcome: string]>) {
  await db
    .insertInto('run_log')
    .values(rows.map(([node, outcome], i) => ({ run_id: runId, node_id: node, record_id: String(i), entity_id: null, outcome, fields: null, message: null, at })))
    .execute();
}

async function addConflict(db: Db, id: string, sides: Record<string, unknown>, status = 'open', flowId = 'f') {
  await db
    .insertInto('conflicts')
    .values({ id, flow_id: flowId, entity_id: null, kind: 'field', field: 'name', base: null, sides: JSON.stringify(sides), status, resolution: null, created_at: at, resolved_at: null })
    .execute();
}

describe.each(stateDatabases)('migration 2026_12_08_0900_trigger_holds on $name', ({ open: state }) => {
  it('keeps each trigger’s last pass and holds none of them', async () => {
    const db = await state();
    await downHolds(db as never);
    await db.insertInto('trigger_status').values({ flow_id: 'f', node_id: 'crm', last_pass_at: at } as never).execute();
    await upHolds(db as never);
    expect(await db.selectFrom('trigger_status').selectAll().execute()).toEqual([{ flow_id: 'f', node_id: 'crm', last_pass_at: at, held_at: null, held_until: null, held_reason: null }]);
    expect((await triggerHolds(db, 'f')).size).toBe(0);
  });
});

describe.each(stateDatabases)('countSyncedInSteps on $name', ({ open: state }) => {
  it('counts a side’s live links a step at a time, leaving out tombstones, other sides and other flows', async () => {
    const db = await state();
    await addLinks(db, 'f', 'crm', 25, 5);
    await addLinks(db, 'f', 'mkt', 3);
    await addLinks(db, 'other', 'crm', 4);
    let steps = 0;
    const between = async () => {
      steps += 1;
    };
    // 25 links in steps of 10: 10, 10, 5; five of them tombstoned (every fifth).
    expect(await countSyncedInSteps(db, 'f', 'crm', between, 10)).toBe(20);
    expect(steps).toBe(2);
    // A side whose links fill the last step exactly ends on an empty step.
    steps = 0;
    expect(await countSyncedInSteps(db, 'f', 'crm', between, 5)).toBe(20);
    expect(steps).toBe(5);
    expect(await countSyncedInSteps(db, 'f', 'mkt', between, 10)).toBe(3);
    expect(await countSyncedInSteps(db, 'f', 'nobody', between, 10)).toBe(0);
  });
});

describe.each(stateDatabases)('runWritesInSteps on $name', ({ open: state }) => {
  it('counts the records a run wrote per side, a step at a time, and nothing else it logged', async () => {
    const db = await state();
    await addRun(db, 'r1');
    await addRun(db, 'r2');
    const log: Array<[string, string]> = [];
    for (let i = 0; i < 12; i += 1) log.push(['mkt', 'created']);
    log.push(['crm', 'updated'], ['crm', 'deleted'], ['crm', 'echo'], ['mkt', 'unchanged'], ['crm', 'failed'], ['crm', 'conflict']);
    await addLog(db, 'r1', log);
    await addLog(db, 'r2', [['crm', 'created']]);
    let steps = 0;
    const writes = await runWritesInSteps(db, 'r1', async () => void (steps += 1), 5);
    expect(Object.fromEntries(writes)).toEqual({ mkt: 12, crm: 2 });
    expect(steps).toBe(2);
    expect(Object.fromEntries(await runWritesInSteps(db, 'r2'))).toEqual({ crm: 1 });
  });
});

describe.each(stateDatabases)('the other counts of the live canvas on $name', ({ open: state }) => {
  it('counts open conflicts by the sides they name, for the flow and for one part of it', async () => {
    const db = await state();
    await addConflict(db, 'c1', { crm: 'Ada', mkt: 'Ada L.' });
    await addConflict(db, 'c2', { crm: ['1', '2'], entities: ['e1'] });
    await addConflict(db, 'c3', { hr: 'x', lms: 'y' });
    await addConflict(db, 'c4', { crm: 'gone' }, 'applied');
    await addConflict(db, 'c5', { crm: 'elsewhere' }, 'open', 'other');
    expect(await countOpenConflicts(db, 'f')).toBe(3);
    expect(Object.fromEntries(await openConflictsBySide(db, 'f'))).toEqual({ crm: 2, mkt: 1, entities: 1, hr: 1, lms: 1 });
    expect(await openConflictsOfPart(db, 'f', ['crm', 'mkt'])).toBe(2);
    expect(await openConflictsOfPart(db, 'f', ['hr', 'lms'])).toBe(1);
    expect(await openConflictsOfPart(db, 'f', [])).toBe(0);
  });

  it('counts failing records per side, and when each side last took part in a pass', async () => {
    const db = await state();
    const failing = (node: string, record: string, flowId = 'f') => ({ flow_id: flowId, node_id: node, record_id: record, entity_id: null, error: 'boom', attempts: 1, first_failed_at: at, last_failed_at: at });
    await db.insertInto('failing_records').values([failing('crm', '1'), failing('crm', '2'), failing('mkt', '1'), failing('crm', '3', 'other')]).execute();
    expect(Object.fromEntries(await failingByNode(db, 'f'))).toEqual({ crm: 2, mkt: 1 });
    await recordTriggerPass(db, 'f', ['crm', 'mkt'], at);
    expect(Object.fromEntries(await lastPasses(db, 'f'))).toEqual({ crm: at, mkt: at });
  });

  it('holds triggers of a flow until a time, and releases only held ones', async () => {
    const db = await state();
    await recordTriggerPass(db, 'f', ['crm', 'mkt', 'hr'], at);
    await recordTriggerPass(db, 'other', ['crm'], at);
    const hold = { since: at, until: '2026-12-01T11:00:00.000Z', reason: 'trigger "crm": cannot list changes: 429' };
    await holdTriggers(db, 'f', ['crm', 'mkt'], hold);
    expect(Object.fromEntries(await triggerHolds(db, 'f'))).toEqual({ crm: hold, mkt: hold });
    expect((await triggerHolds(db, 'other')).size).toBe(0);

    await holdTriggers(db, 'f', ['mkt', 'hr'], null);
    expect(Object.fromEntries(await triggerHolds(db, 'f'))).toEqual({ crm: hold });
    // A release leaves when each trigger last took part in a pass as it was.
    expect(Object.fromEntries(await lastPasses(db, 'f'))).toEqual({ crm: at, mkt: at, hr: at });
  });

  it('lists the passes of the last hour, the newest pass and the newest that finished', async () => {
    const db = await state();
    await addRun(db, 'old', { startedAt: '2026-12-01T08:00:00.000Z', status: 'failed', error: 'trigger "crm": gone' });
    await addRun(db, 'a', { startedAt: '2026-12-01T09:30:00.000Z' });
    await addRun(db, 'b', { startedAt: '2026-12-01T09:40:00.000Z', status: 'running' });
    await addRun(db, 'elsewhere', { flowId: 'other', startedAt: '2026-12-01T09:50:00.000Z' });
    const runs = await recentRuns(db, 'f', '2026-12-01T09:00:00.000Z');
    expect(runs.recent.map((run) => run.id)).toEqual(['b', 'a']);
    expect(runs.newest?.id).toBe('b');
    expect(runs.lastFinished?.id).toBe('a');
    // Nothing in the last hour: the newest pass is still found, however old.
    const quiet = await recentRuns(db, 'f', '2026-12-01T09:45:00.000Z');
    expect(quiet.recent).toEqual([]);
    expect(quiet.newest?.id).toBe('b');
  });
});

describe('query plans', () => {
  it('reads every table of the live counts through an index, never by scanning it', async () => {
    const sqlite = new Sqlite(':memory:');
    const statements: CompiledQuery[] = [];
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }), log: (event) => void (event.level === 'query' && statements.push(event.query)) });
    opened.push(db);
    await migrateToLatest(db);
    await addRun(db, 'r1', { summary: { created: 1, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 } });
    await addLinks(db, 'f', 'crm', 2);
    statements.length = 0;
    await countSyncedInSteps(db, 'f', 'crm');
    await countSyncedInSteps(db, 'f', 'crm', async () => undefined, 1);
    await runWritesInSteps(db, 'r1');
    await countOpenConflicts(db, 'f');
    await openConflictsBySide(db, 'f');
    await openConflictsOfPart(db, 'f', ['crm', 'mkt']);
    await failingByNode(db, 'f');
    await lastPasses(db, 'f');
    await recentRuns(db, 'f', at);
    expect(statements.length).toBeGreaterThanOrEqual(10);
    for (const statement of statements) {
      const plan = (sqlite.prepare(`explain query plan ${statement.sql}`).all(...(statement.parameters as unknown[])) as Array<{ detail: string }>).map((row) => row.detail);
      // json_each is a table-valued function over one row's text, and subqueries are read as they are produced.
      const scans = plan.filter((detail) => /^SCAN /.test(detail) && !/^SCAN (side|json_each|chunk|\(subquery|subquery)/.test(detail));
      expect({ sql: statement.sql, scans }).toEqual({ sql: statement.sql, scans: [] });
    }
  });
});
