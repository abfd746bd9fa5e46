import { describe, expect, it } from 'vitest';
import { findConflictId, findMassDeleteReview, insertConflict, listConflicts, markConflictResolved, markConflictsApplied, markResolvedApplied, resolvedConflictEntityIds } from './conflictQueries';
import type { ConflictRow } from './schema';
import { stateDatabases } from '../../test/support/stateDatabases';

const conflict = (id: string, overrides: Partial<ConflictRow>): ConflictRow => ({
  id,
  flow_id: 'f',
  entity_id: null,
  kind: 'field',
  field: null,
  base: null,
  sides: '{}',
  status: 'open',
  resolution: null,
  created_at: '2026-01-01T00:00:00.000Z',
  resolved_at: null,
  ...overrides,
});

describe.each(stateDatabases)('conflictQueries on $name', ({ open }) => {
  it('finds a conflict by flow or entity, kind, field and status, and nothing that differs in any of them', async () => {
    const db = await open();
    await insertConflict(db, conflict('c1', { entity_id: 'e1', field: 'name' }));
    await insertConflict(db, conflict('c2', { kind: 'match', field: 'key', created_at: '2026-01-02T00:00:00.000Z' }));
    expect(await findConflictId(db, { entityId: 'e1', kind: 'field', field: 'name', status: 'open' })).toBe('c1');
    expect(await findConflictId(db, { entityId: 'e1', kind: 'field', field: 'email', status: 'open' })).toBeUndefined();
    expect(await findConflictId(db, { entityId: 'e2', kind: 'field', field: 'name', status: 'open' })).toBeUndefined();
    expect(await findConflictId(db, { flowId: 'f', kind: 'match', field: 'key', status: 'open' })).toBe('c2');
    expect(await findConflictId(db, { flowId: 'g', kind: 'match', field: 'key', status: 'open' })).toBeUndefined();
    expect(await findConflictId(db, { flowId: 'f', kind: 'match', field: 'key', status: 'resolved' })).toBeUndefined();
    await db.destroy();
  });

  it('finds the mass-delete review of one side, or one filed before reviews named their side', async () => {
    const db = await open();
    await insertConflict(db, conflict('m1', { kind: 'mass-delete', field: 'a', status: 'resolved' }));
    await insertConflict(db, conflict('m2', { kind: 'mass-delete', field: 'c' }));
    expect(await findMassDeleteReview(db, 'f', 'a', 'resolved')).toBe('m1');
    expect(await findMassDeleteReview(db, 'f', 'c', 'resolved')).toBeUndefined();
    expect(await findMassDeleteReview(db, 'f', 'c', 'open')).toBe('m2');
    expect(await findMassDeleteReview(db, 'g', 'a', 'resolved')).toBeUndefined();
    // Used up: applied, and found no more; an open one is left as it is.
    await markConflictsApplied(db, ['m1', 'm2']);
    expect(await findMassDeleteReview(db, 'f', 'a', 'resolved')).toBeUndefined();
    expect(await findMassDeleteReview(db, 'f', 'c', 'open')).toBe('m2');
    await insertConflict(db, conflict('m0', { kind: 'mass-delete', field: null, status: 'resolved' }));
    expect(await findMassDeleteReview(db, 'f', 'c', 'resolved')).toBe('m0');
    await db.destroy();
  });

  it('moves a conflict from open to resolved to applied, and lists each stage', async () => {
    const db = await open();
    await insertConflict(db, conflict('c1', { entity_id: 'e1', field: 'name' }));
    await insertConflict(db, conflict('c2', { kind: 'match', field: 'key', created_at: '2026-01-02T00:00:00.000Z' }));
    await markConflictResolved(db, 'c1', { side: 'a' }, 'later');
    expect(await resolvedConflictEntityIds(db, 'f')).toEqual(['e1']);
    expect((await listConflicts(db, { flowId: 'f', status: 'resolved' })).map((view) => [view.id, view.resolution, view.resolvedAt])).toEqual([['c1', { side: 'a' }, 'later']]);
    await markResolvedApplied(db, 'f', ['field']);
    expect((await listConflicts(db, { flowId: 'f' })).map((view) => [view.id, view.status])).toEqual([
      ['c1', 'applied'],
      ['c2', 'open'],
    ]);
    expect(await resolvedConflictEntityIds(db, 'f')).toEqual([]);
    await db.destroy();
  });
});
