import { describe, expect, it } from 'vitest';
import { groupInto } from './collections';

describe('groupInto', () => {
  it('keeps the values of each key in the order they came, in the list the map already holds', () => {
    const byFlow = new Map<string, number[]>();
    groupInto(byFlow, 'a', 1);
    const first = byFlow.get('a');
    groupInto(byFlow, 'b', 2);
    groupInto(byFlow, 'a', 3);
    expect([...byFlow]).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
    ]);
    expect(byFlow.get('a')).toBe(first);
  });
});
