import { describe, expect, it } from 'vitest';
import { openStateDb } from '../../db/index';
import { countLiveLinks, insertMany, upsertLinks } from '../../db/queries';
import { LinkChanges, linkRow, sameStoredVersion } from './linkChanges';
import { PassState } from './passState';

const pass = new PassState('f', 'run', false, () => new Date('2026-01-01T00:00:00Z'));
const link = (recordId: string, version: number | string | null = 1) => linkRow(pass, 'a', recordId, `e-${recordId}`, { name: recordId }, version, 'stamp');

describe('sameStoredVersion', () => {
  it('compares a link’s stored version as sameVersion compares versions: never a number with its text', () => {
    expect(sameStoredVersion(link('x', 5).version, 5)).toBe(true);
    expect(sameStoredVersion(link('x', 5).version, '5')).toBe(false);
    expect(sameStoredVersion(link('x', '5').version, '5')).toBe(true);
    expect(sameStoredVersion(link('x', null).version, null)).toBe(true);
    expect(sameStoredVersion(link('x', null).version, 0)).toBe(false);
  });
});

describe('LinkChanges', () => {
  it('applies the last decision about each link, and counts the live links each side gains or loses', async () => {
    const db = await openStateDb(':memory:');
    await upsertLinks(db, [link('kept'), link('removed'), link('tombstoned'), link('saved-then-removed')]);
    const changes = new LinkChanges('f');
    changes.save({ ...link('kept'), entity_id: 'e-other' });
    changes.remove('a', 'removed');
    changes.tombstone('a', 'removed');
    changes.tombstone('a', 'tombstoned');
    changes.save(link('new'));
    changes.tombstone('a', 'new');
    changes.save(link('saved-then-removed'));
    changes.remove('a', 'saved-then-removed');
    const delta = new Map([['a', 0]]);
    await changes.apply(db, delta);

    const rows = await db.selectFrom('links').select(['record_id', 'entity_id', 'deleted']).where('flow_id', '=', 'f').orderBy('record_id').execute();
    expect(rows).toEqual([
      { record_id: 'kept', entity_id: 'e-other', deleted: 0 },
      // A tombstone over a row saved in the same commit is that row, deleted.
      { record_id: 'new', entity_id: 'e-new', deleted: 1 },
      { record_id: 'tombstoned', entity_id: 'e-tombstoned', deleted: 1 },
    ]);
    // Live before: kept, removed, tombstoned, saved-then-removed; live after: kept.
    expect(delta.get('a')).toBe(-3);
    await db.destroy();
  });

  it('counts as the links table does, for links under their entities, moved between them, revived and ended', async () => {
    const db = await openStateDb(':memory:');
    const entity = (id: string) => ({ id, flow_id: 'f', golden: '{}', match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: 's', updated_at: 's', provenance: null });
    await insertMany(db, 'entities', ['e-1', 'e-2', 'e-3'].map(entity));
    const under = (recordId: string, entityId: string, deleted = 0) => ({ ...link(recordId), entity_id: entityId, deleted });
    await upsertLinks(db, [under('live', 'e-1'), under('moving', 'e-1'), under('tomb', 'e-2', 1), under('ending', 'e-2'), under('tomb-removed', 'e-3', 1), under('live-removed', 'e-3')]);
    const before = await countLiveLinks(db, 'f', 'a');
    const changes = new LinkChanges('f');
    changes.save(under('live', 'e-1'));
    changes.save(under('moving', 'e-2'));
    changes.save(under('tomb', 'e-2'));
    changes.tombstone('a', 'ending');
    changes.remove('a', 'tomb-removed');
    changes.remove('a', 'live-removed');
    changes.save(under('new', 'e-3'));
    changes.save(under('new-tomb', 'e-3', 1));
    changes.save(under('new-elsewhere', 'e-none'));
    const delta = new Map([['a', 0]]);
    await changes.apply(db, delta);
    // Before: live, moving, ending, live-removed. After: live, moving, tomb (revived), new, new-elsewhere (its entity
    // not stored: a narrow row only).
    expect([before, await countLiveLinks(db, 'f', 'a')]).toEqual([4, 5]);
    expect(delta.get('a')).toBe((await countLiveLinks(db, 'f', 'a')) - before);
    await db.destroy();
  });
});
