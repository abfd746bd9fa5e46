import { describe, expect, it } from 'vitest';
import { provenanceAfterMerge } from '../engine/provenance';
import { stateDatabases } from '../../test/support/stateDatabases';
import { down, up } from './migrations/2026_12_04_1000_field_provenance';
import { saveEntityRows } from './queries';

describe.each(stateDatabases)('migration 2026_12_04_1000_field_provenance on $name', ({ open }) => {
  it('gives the entities of an older state file an empty provenance, which a save then fills in the same row', async () => {
    const db = await open();
    // The state as it was before: no provenance column, one entity synced.
    await down(db as never);
    const now = new Date().toISOString();
    const entity = { id: 'e1', flow_id: 'f', golden: '{"name":"Ada"}', match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: now, updated_at: now };
    await db.insertInto('entities').values(entity as never).execute();

    await up(db as never);
    const migrated = await db.selectFrom('entities').selectAll().executeTakeFirstOrThrow();
    expect(migrated).toEqual({ ...entity, provenance: null, sides: '{}' });

    const provenance = provenanceAfterMerge(migrated.provenance, [{ field: 'name', from: 'Ada', to: 'Ada L.', winner: 'a', rule: 'only change' }], { runId: 'r', at: now });
    await saveEntityRows(db, [{ ...migrated, golden: '{"name":"Ada L."}', provenance }]);
    expect(await db.selectFrom('entities').select(['golden', 'provenance']).executeTakeFirstOrThrow()).toEqual({ golden: '{"name":"Ada L."}', provenance });
    expect(await db.selectFrom('entities').select((eb) => eb.fn.countAll<number>().as('rows')).executeTakeFirstOrThrow()).toEqual({ rows: 1 });
  });
});
