import { describe, expect, it } from 'vitest';
import { entitySideKey, flowNodeKey, sideRecordKey } from './keys';

describe.each([
  ['sideRecordKey', sideRecordKey],
  ['entitySideKey', entitySideKey],
  ['flowNodeKey', flowNodeKey],
])('%s', (_name, key) => {
  it('tells apart pairs whose joined texts would otherwise be the same', () => {
    expect(key('ab', 'c')).not.toBe(key('a', 'bc'));
    expect(key('a', 'b')).toBe(key('a', 'b'));
  });
});
