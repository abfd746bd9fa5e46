import { describe, expect, it } from 'vitest';
import { stateDatabases } from '../../test/support/stateDatabases';
import { appendRunLog, finishRun, getRun, listRunPage, listRuns, pruneRunHistory, startRun } from './runQueries';

describe.each(stateDatabases)('pruneRunHistory on $name', ({ open }) => {
  it('keeps the newest runs of a flow with their logs, and leaves other flows alone', async () => {
    const db = await open();
    for (let i = 0; i < 5; i++) {
      for (const flow of ['a', 'b']) {
        const id = `${flow}${i}`;
        await db.insertInto('runs').values({ id, flow_id: flow, started_at: `2026-01-0${i + 1}T00:00:00.000Z`, finished_at: null, status: 'ok', reason: 'schedule', dry_run: 0, summary: null, error: null }).execute();
        await db.insertInto('run_log').values({ run_id: id, node_id: 'n', record_id: '1', entity_id: null, outcome: 'echo', fields: null, message: null, at: 'x' }).execute();
      }
    }
    expect(await pruneRunHistory(db, 'a', 2)).toBe(3);
    expect((await db.selectFrom('runs').select('id').where('flow_id', '=', 'a').orderBy('id').execute()).map((row) => row.id)).toEqual(['a3', 'a4']);
    expect((await db.selectFrom('run_log').select('run_id').where('run_id', 'like', 'a%').orderBy('run_id').execute()).map((row) => row.run_id)).toEqual(['a3', 'a4']);
    expect(await db.selectFrom('runs').select('id').where('flow_id', '=', 'b').execute()).toHaveLength(5);
    expect(await pruneRunHistory(db, 'a', 2)).toBe(0);
    await db.destroy();
  });

  it('deletes long logs a chunk at a time, all of them', async () => {
    const db = await open();
    for (let i = 0; i < 4; i++) {
      const id = `a${i}`;
      await db.insertInto('runs').values({ id, flow_id: 'a', started_at: `2026-01-0${i + 1}T00:00:00.000Z`, finished_at: null, status: 'ok', reason: 'schedule', dry_run: 0, summary: null, error: null }).execute();
      const rows = Array.from({ length: 25 }, (_, n) => ({ run_id: id, node_id: 'n', record_id: String(n), entity_id: null, outcome: 'created', fields: null, message: null, at: 'x' }));
      await db.insertInto('run_log').values(rows).execute();
    }
    // 75 rows to go, in chunks of 10: the last chunk is short.
    expect(await pruneRunHistory(db, 'a', 1, 10)).toBe(3);
    expect(await db.selectFrom('run_log').select('run_id').distinct().execute()).toEqual([{ run_id: 'a3' }]);
    expect(await db.selectFrom('run_log').select('id').execute()).toHaveLength(25);
    await db.destroy();
  });
});

describe.each(stateDatabases)('listRunPage on $name', ({ open }) => {
  it('pages newest first past runs that started at the same moment, filtering by what each run did', async () => {
    const db = await open();
    const summary = (created: number, conflicts = 0) => JSON.stringify({ created, updated: 0, deleted: 0, echoes: 0, conflicts, failed: 0 });
    // Five runs in the same millisecond (ids break the tie), one failed, two that wrote, one that filed a conflict.
    const rows = [
      { id: 'r1', status: 'ok', summary: summary(2) },
      { id: 'r2', status: 'ok', summary: summary(0) },
      { id: 'r3', status: 'failed', summary: null },
      { id: 'r4', status: 'ok', summary: summary(0, 1) },
      { id: 'r5', status: 'ok', summary: summary(1) },
    ];
    for (const row of rows) {
      await db.insertInto('runs').values({ ...row, flow_id: 'a', started_at: '2026-01-01T00:00:00.000Z', finished_at: null, reason: 'schedule', dry_run: 0, error: null }).execute();
    }
    const ids = async (options: Parameters<typeof listRunPage>[2]) => (await listRunPage(db, 'a', options))?.map((run) => run.id);
    expect(await ids({ filter: 'all', before: null, limit: 2 })).toEqual(['r5', 'r4']);
    expect(await ids({ filter: 'all', before: 'r4', limit: 2 })).toEqual(['r3', 'r2']);
    expect(await ids({ filter: 'all', before: 'r2', limit: 2 })).toEqual(['r1']);
    expect(await ids({ filter: 'changes', before: null, limit: 10 })).toEqual(['r5', 'r1']);
    expect(await ids({ filter: 'failed', before: null, limit: 10 })).toEqual(['r3']);
    expect(await ids({ filter: 'conflicts', before: null, limit: 10 })).toEqual(['r4']);
    expect(await listRunPage(db, 'b', { filter: 'all', before: 'r1', limit: 10 })).toBeNull();
    await db.destroy();
  });
});

describe.each(stateDatabases)('a run from start to finish on $name', ({ open }) => {
  it('shows running until it ends, then its outcome, summary and log in order; the newest run first', async () => {
    const db = await open();
    const summary = { created: 1, updated: 0, deleted: 0, echoes: 2, conflicts: 0, failed: 0 };
    await startRun(db, { id: 'r1', flowId: 'a', startedAt: '2026-01-01T00:00:00.000Z', reason: 'schedule' });
    await startRun(db, { id: 'r2', flowId: 'a', startedAt: '2026-01-02T00:00:00.000Z', reason: 'webhook' });
    expect((await getRun(db, 'r1'))?.run).toMatchObject({ id: 'r1', flowId: 'a', status: 'running', reason: 'schedule', dryRun: false, summary: null, finishedAt: null });
    await appendRunLog(db, 'r1', [{ nodeId: 'n', recordId: '1', entityId: 'e', outcome: 'created', fields: [{ field: 'x', before: null, after: 1 }], message: null, at: 't1' }]);
    await appendRunLog(db, 'r1', [{ nodeId: 'n', recordId: '2', entityId: null, outcome: 'echo', fields: [], message: 'own write', at: 't2' }]);
    await finishRun(db, 'r1', { finishedAt: '2026-01-01T00:00:01.000Z', status: 'ok', summary, error: null });
    expect(await getRun(db, 'r1')).toEqual({
      run: { id: 'r1', flowId: 'a', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', status: 'ok', reason: 'schedule', dryRun: false, summary, error: null, process: null },
      log: [
        { nodeId: 'n', recordId: '1', entityId: 'e', outcome: 'created', fields: [{ field: 'x', before: null, after: 1 }], message: null, at: 't1' },
        { nodeId: 'n', recordId: '2', entityId: null, outcome: 'echo', fields: [], message: 'own write', at: 't2' },
      ],
    });
    expect(await getRun(db, 'none')).toBeNull();
    expect((await listRuns(db, 'a')).map((run) => run.id)).toEqual(['r2', 'r1']);
    expect((await listRuns(db, 'a', 1)).map((run) => run.id)).toEqual(['r2']);
    await db.destroy();
  });
});
