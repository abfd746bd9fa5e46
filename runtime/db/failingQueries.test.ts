import { describe, expect, it } from 'vitest';
import { failingOfFlow, listFailing, recordFailure, resetFailingAttempts } from './failingQueries';
import { stateDatabases } from '../../test/support/stateDatabases';

describe.each(stateDatabases)('failingQueries on $name', ({ open }) => {
  it('counts each failure of a record, keeps when it first failed, and starts the count afresh on request', async () => {
    const db = await open();
    await recordFailure(db, { flowId: 'f', nodeId: 'a', recordId: '1', entityId: null, error: 'first', at: 't1' });
    await recordFailure(db, { flowId: 'f', nodeId: 'a', recordId: '2', entityId: null, error: 'other', at: 't2' });
    await recordFailure(db, { flowId: 'f', nodeId: 'a', recordId: '1', entityId: 'e1', error: 'again', at: 't3' });
    await recordFailure(db, { flowId: 'g', nodeId: 'a', recordId: '1', entityId: null, error: 'elsewhere', at: 't1' });
    expect(await listFailing(db, 'f')).toEqual([
      { flowId: 'f', nodeId: 'a', recordId: '1', entityId: 'e1', error: 'again', attempts: 2, firstFailedAt: 't1', lastFailedAt: 't3' },
      { flowId: 'f', nodeId: 'a', recordId: '2', entityId: null, error: 'other', attempts: 1, firstFailedAt: 't2', lastFailedAt: 't2' },
    ]);
    await resetFailingAttempts(db, 'f');
    expect((await failingOfFlow(db, 'f')).map((row) => row.attempts)).toEqual([0, 0]);
    expect((await failingOfFlow(db, 'g')).map((row) => row.attempts)).toEqual([1]);
    await db.destroy();
  });
});
