import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameWrittenContent, writtenContentHash } from './values';

describe('sameWrittenContent', () => {
  it('agrees with comparing written-content hashes', () => {
    const value = fc.oneof(fc.constant(null), fc.constant(undefined), fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b', ''), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }));
    const record = fc.dictionary(fc.constantFrom('name', 'email', 'stage', 'score'), value, { maxKeys: 4 });
    fc.assert(
      fc.property(record, record, (a, b) => {
        expect(sameWrittenContent(a, b)).toBe(writtenContentHash(a) === writtenContentHash(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('ignores fields the system filled with null', () => {
    expect(sameWrittenContent({ name: 'Ada' }, { name: 'Ada', phone: null })).toBe(true);
    expect(sameWrittenContent({ name: 'Ada' }, { name: 'Ada', phone: '' })).toBe(false);
  });
});
