import { describe, expect, it } from 'vitest';
import { freeRowName, objectOfRows, repeatsName, type KeyedRow } from './keyedRows';

describe('rows of an object', () => {
  const rows: KeyedRow[] = [
    ['name', 'manual'],
    ['stage', 'last-write-wins'],
    ['name', 'last-write-wins'],
  ];

  it('write no object while two rows share a name, so neither entry is dropped', () => {
    expect(objectOfRows(rows)).toBeNull();
    expect(objectOfRows(rows.slice(0, 2))).toEqual({ name: 'manual', stage: 'last-write-wins' });
    expect(objectOfRows([])).toEqual({});
  });

  it('mark each row whose name an earlier row has', () => {
    expect(rows.map((_, index) => repeatsName(rows, index))).toEqual([false, false, true]);
  });

  it('name a new row after the ones there', () => {
    expect(freeRowName([])).toBe('field');
    expect(freeRowName([['field', 1], ['field2', 2]])).toBe('field3');
  });
});
