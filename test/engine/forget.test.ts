import { describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { SyncEngine } from '../../runtime/engine/index';
import { appendWriteAhead } from '../../runtime/db/writeAheadQueries';
import { memoryHarness } from './memory-flows';

describe('forgetting a flow', () => {
  it('removes all of its state in bounded statements, and nothing of another flow', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    for (let i = 0; i < 40; i++) h.sides.a!.insert({ email: `p${i}@example.com`, name: `P${i}` });
    await h.pass();
    await h.pass();
    // Another flow's state in the same database, which must stay.
    await h.db
      .insertInto('entities')
      .values({ id: 'other-entity', flow_id: 'other', golden: '{}', match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: 'x', updated_at: 'x' })
      .execute();
    await h.db.insertInto('links').values({ flow_id: 'other', node_id: 'a', record_id: '1', entity_id: 'other-entity', deleted: 0 }).execute();
    const count = async (table: 'entities' | 'links' | 'write_ahead' | 'runs' | 'cursors' | 'flow_knowledge', flowId: string) =>
      Number((await h.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('flow_id', '=', flowId).executeTakeFirstOrThrow()).n);
    expect(await count('links', h.flow.id)).toBe(80);
    // A page a crash interrupted, which the flow's state holds until a pass recovers from it.
    await appendWriteAhead(h.db, { page: 'interrupted', flowId: h.flow.id, createdAt: 'x', writes: [], links: [{ nodeId: 'a', recordId: '1', entityId: 'e', version: null }] });
    expect(await count('write_ahead', h.flow.id)).toBe(1);

    await new SyncEngine({ db: h.db, connectors: connectorRegistry, forgetChunk: 7 }).forgetFlow(h.flow.id);
    for (const table of ['entities', 'links', 'write_ahead', 'runs', 'cursors', 'flow_knowledge'] as const) expect(await count(table, h.flow.id), table).toBe(0);
    expect(await h.db.selectFrom('run_log').selectAll().execute()).toEqual([]);
    expect(await count('entities', 'other')).toBe(1);
    expect(await count('links', 'other')).toBe(1);

    // The flow starts afresh: B already holds every record, so they are linked again by email, not created twice.
    const again = await h.pass();
    expect(again.summary).toMatchObject({ created: 0, failed: 0 });
    expect(await count('links', h.flow.id)).toBe(80);
  });
});
