import { describe, expect, it } from 'vitest';
import { sideRecordKey } from './keys';

describe('sideRecordKey', () => {
  it('tells apart pairs whose joined texts would otherwise be the same', () => {
    expect(sideRecordKey('ab', 'c')).not.toBe(sideRecordKey('a', 'bc'));
    expect(sideRecordKey('a', 'b')).toBe(sideRecordKey('a', 'b'));
  });
});
