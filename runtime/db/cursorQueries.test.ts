import { describe, expect, it } from 'vitest';
import { loadCursor, saveCursor } from './cursorQueries';
import { stateDatabases } from '../../test/support/stateDatabases';

describe.each(stateDatabases)('cursorQueries on $name', ({ open }) => {
  it('starts a side never listed from the beginning, and gives back a saved cursor as saved, a number apart from its text', async () => {
    const db = await open();
    expect(await loadCursor(db, 'f', 'a')).toEqual({ since: null, seen: [] });
    await saveCursor(db, 'f', 'a', { since: 5, seen: ['x'] }, 't1');
    await saveCursor(db, 'f', 'b', { since: '5', seen: ['y', 'z'] }, 't1');
    await saveCursor(db, 'f', 'a', { since: 7, seen: ['w'] }, 't2');
    expect(await loadCursor(db, 'f', 'a')).toEqual({ since: 7, seen: ['w'] });
    expect(await loadCursor(db, 'f', 'b')).toEqual({ since: '5', seen: ['y', 'z'] });
    expect(await loadCursor(db, 'other', 'a')).toEqual({ since: null, seen: [] });
    await db.destroy();
  });
});
