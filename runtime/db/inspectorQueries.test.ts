import { describe, expect, it } from 'vitest';
import { provenanceAfterMerge } from '../engine/provenance';
import { stateDatabases } from '../../test/support/stateDatabases';
import type { StateDb } from './index';
import { INSPECTED_LOG_LINES, INSPECTED_RUNS, inspectEntity } from './inspectorQueries';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString();

/** A flow with `runs` runs, one a minute; the entity `e1` has a log line in the first and in the last two. */
async function history(state: StateDb, runs: number, provenance: string | null): Promise<void> {
  await state
    .insertInto('entities')
    .values({ id: 'e1', flow_id: 'f', golden: '{"name":"Ada"}', provenance, match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: at(0), updated_at: at(0) })
    .execute();
  for (let index = 0; index < runs; index++) {
    await state.insertInto('runs').values({ id: `r${index}`, flow_id: 'f', started_at: at(index), finished_at: at(index), status: 'ok', reason: 'schedule', dry_run: 0, summary: null, error: null }).execute();
  }
  const line = (run: number, entity: string, outcome: string) => ({ run_id: `r${run}`, node_id: 'a', record_id: '1', entity_id: entity, outcome, fields: null, message: null, at: at(run) });
  await state.insertInto('run_log').values([line(0, 'e1', 'created'), line(runs - 2, 'e1', 'updated'), line(runs - 1, 'e1', 'updated'), line(runs - 1, 'e2', 'created')]).execute();
}

describe.each(stateDatabases)('inspectEntity on $name', ({ open }) => {
  it('reads the log lines of the newest runs, and of older runs that set a field', async () => {
    const db = await open();
    const runs = INSPECTED_RUNS + 5;
    await history(db, runs, provenanceAfterMerge(null, [{ field: 'name', from: undefined, to: 'Ada', winner: 'a', rule: 'first sync' }], { runId: 'r0', at: at(0) }));
    const found = await inspectEntity(db, 'f', 'e1');
    expect(found?.log.map((line) => [line.runId, line.outcome])).toEqual([
      [`r${runs - 1}`, 'updated'],
      [`r${runs - 2}`, 'updated'],
      ['r0', 'created'],
    ]);
    expect(found?.log[2]?.runStartedAt).toBe(at(0));
    expect(found?.runsStarted).toEqual(new Map([['r0', at(0)]]));
    expect(found?.provenance.name?.rule).toBe('first sync');
  });

  it('leaves out the lines of runs older than the newest it reads when no field names them', async () => {
    const db = await open();
    const runs = INSPECTED_RUNS + 5;
    await history(db, runs, null);
    const found = await inspectEntity(db, 'f', 'e1');
    expect(found?.log.map((line) => line.runId)).toEqual([`r${runs - 1}`, `r${runs - 2}`]);
    expect(found?.provenance).toEqual({});
    expect(INSPECTED_LOG_LINES).toBeGreaterThanOrEqual(found?.log.length ?? 0);
  });

  it('finds nothing for an entity of another flow', async () => {
    const db = await open();
    await history(db, 3, null);
    expect(await inspectEntity(db, 'other', 'e1')).toBeNull();
    expect(await inspectEntity(db, 'f', 'nobody')).toBeNull();
  });
});
