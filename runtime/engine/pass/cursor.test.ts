import { describe, expect, it } from 'vitest';
import type { SourceRecord, Version } from '../../connectors/types';
import { advanceCursor, seenAtCursor, type CursorState } from './cursor';

const record = (id: string, version: Version | null): SourceRecord => ({ id, version, tag: null, deleted: false, fields: {} });

function advanced(...records: SourceRecord[]): CursorState {
  const cursor: CursorState = { since: null, seen: [] };
  for (const each of records) advanceCursor(cursor, each);
  return cursor;
}

describe('advanceCursor', () => {
  it('keeps the greatest version and every id seen at exactly it, once', () => {
    expect(advanced(record('a', 1), record('b', 3), record('c', 3), record('b', 3), record('d', 2), record('e', null))).toMatchObject({ since: 3, seen: ['b', 'c'] });
  });

  it('orders a number before text, as connectors list them: text moves it on, a number after text does not', () => {
    // As text "10" sorts before "2024-…"; by the connectors' order every number comes before any text.
    expect(advanced(record('a', 10), record('b', '2024-06-03T12:00:00Z'), record('c', 99))).toMatchObject({ since: '2024-06-03T12:00:00Z', seen: ['b'] });
    expect(advanced(record('a', '2024-06-03T12:00:00Z'), record('b', 5))).toMatchObject({ since: '2024-06-03T12:00:00Z', seen: ['a'] });
  });

  it('never takes a number for the text that spells it', () => {
    expect(advanced(record('a', 5), record('b', '5'))).toMatchObject({ since: '5', seen: ['b'] });
    const cursor = advanced(record('a', 5));
    expect(seenAtCursor(cursor, new Set(cursor.seen), record('a', '5'))).toBe(false);
    expect(seenAtCursor(cursor, new Set(cursor.seen), record('a', 5))).toBe(true);
  });
});
