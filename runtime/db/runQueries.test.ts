import { describe, expect, it } from 'vitest';
import { openStateDb } from './index';
import { pruneRunHistory } from './runQueries';

describe('pruneRunHistory', () => {
  it('keeps the newest runs of a flow with their logs, and leaves other flows alone', async () => {
    const db = await openStateDb(':memory:');
    for (let i = 0; i < 5; i++) {
      for (const flow of ['a', 'b']) {
        const id = `${flow}${i}`;
        await db.insertInto('runs').values({ id, flow_id: flow, started_at: `2026-01-0${i + 1}T00:00:00.000Z`, finished_at: null, status: 'ok', reason: 'schedule', dry_run: 0, summary: null, error: null }).execute();
        await db.insertInto('run_log').values({ id: null, run_id: id, node_id: 'n', record_id: '1', entity_id: null, outcome: 'echo', fields: null, message: null, at: 'x' }).execute();
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
    const db = await openStateDb(':memory:');
    for (let i = 0; i < 4; i++) {
      const id = `a${i}`;
      await db.insertInto('runs').values({ id, flow_id: 'a', started_at: `2026-01-0${i + 1}T00:00:00.000Z`, finished_at: null, status: 'ok', reason: 'schedule', dry_run: 0, summary: null, error: null }).execute();
      const rows = Array.from({ length: 25 }, (_, n) => ({ id: null, run_id: id, node_id: 'n', record_id: String(n), entity_id: null, outcome: 'created', fields: null, message: null, at: 'x' }));
      await db.insertInto('run_log').values(rows).execute();
    }
    // 75 rows to go, in chunks of 10: the last chunk is short.
    expect(await pruneRunHistory(db, 'a', 1, 10)).toBe(3);
    expect(await db.selectFrom('run_log').select('run_id').distinct().execute()).toEqual([{ run_id: 'a3' }]);
    expect(await db.selectFrom('run_log').select('id').execute()).toHaveLength(25);
    await db.destroy();
  });
});
