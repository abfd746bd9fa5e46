import { describe, expect, it } from 'vitest';
import { openStateDb } from '../../db/index';
import { upsertLinks } from '../../db/queries';
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
});
