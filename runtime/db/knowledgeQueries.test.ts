import { describe, expect, it } from 'vitest';
import { openStateDb } from './index';
import { deleteKnowledge, runRecordedSince, saveKnowledge, storedKnowledge } from './knowledgeQueries';
import { startRun } from './runQueries';

describe('knowledgeQueries', () => {
  it('tells whether another run of the flow was recorded after a run, by the order recorded, not by start time', async () => {
    const db = await openStateDb(':memory:');
    const at = '2026-01-01T00:00:00.000Z';
    await startRun(db, { id: 'knowing', flowId: 'f', startedAt: at, reason: 'manual' });
    await startRun(db, { id: 'other-flow', flowId: 'g', startedAt: at, reason: 'manual' });
    expect(await runRecordedSince(db, 'f', 'knowing', null)).toBe(false);
    expect(await runRecordedSince(db, 'f', 'unknown', null)).toBeNull();
    // Same start time, recorded later: it counts as after.
    await startRun(db, { id: 'later', flowId: 'f', startedAt: at, reason: 'manual' });
    expect(await runRecordedSince(db, 'f', 'knowing', null)).toBe(true);
    expect(await runRecordedSince(db, 'f', 'knowing', 'later')).toBe(false);
    await db.destroy();
  });

  it('keeps one row of knowledge per flow, replaced and deleted whole', async () => {
    const db = await openStateDb(':memory:');
    await saveKnowledge(db, { flow_id: 'f', run_id: 'r1', started_at: 's1', fingerprint: 'p1', sides: '{}' });
    await saveKnowledge(db, { flow_id: 'f', run_id: 'r2', started_at: 's2', fingerprint: 'p2', sides: '{"a":{"liveLinks":3,"clean":true}}' });
    expect(await storedKnowledge(db, 'f')).toEqual({ flow_id: 'f', run_id: 'r2', started_at: 's2', fingerprint: 'p2', sides: '{"a":{"liveLinks":3,"clean":true}}' });
    await deleteKnowledge(db, 'f');
    expect(await storedKnowledge(db, 'f')).toBeUndefined();
    await db.destroy();
  });
});
