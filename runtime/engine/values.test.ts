import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentHash, diffLeaves, mergeLeaves, sameValue, sameWrittenContent, stableStringify, writtenContentHash } from './values';

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

describe('stableStringify and the content hashes', () => {
  /** The same value with every object's keys made in the reverse order. */
  const reversed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reversed);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).reverse().map(([key, inner]) => [key, reversed(inner)]));
  };

  it('is the value as JSON, whatever order its keys were made in', () => {
    fc.assert(
      // Through JSON once: -0 has no JSON of its own.
      fc.property(fc.jsonValue().map((value) => JSON.parse(JSON.stringify(value)) as unknown), (value) => {
        const text = stableStringify(value);
        expect(JSON.parse(text)).toEqual(value);
        expect(stableStringify(reversed(value))).toBe(text);
      }),
      { numRuns: 2000 },
    );
    expect(stableStringify({ b: [1, undefined], a: { y: undefined, x: null }, '10': 1, '9': 2 })).toBe('{"10":1,"9":2,"a":{"x":null},"b":[1,null]}');
  });

  // Hashes are kept in the state (journal entries, links' written marks) and compared with hashes taken by a later
  // release: the text they hash may not change.
  it('hashes as the state files of earlier releases hold them', () => {
    expect(writtenContentHash({ name: 'Ada', email: 'ada@example.org', phone: null })).toBe('uRR6xaSKHLnOJ5G7e-xTBc');
    expect(contentHash({ b: [1, null], a: { y: 2, x: 1 } })).toBe('CXLvRzLZ8xLkQKxX5YvMJD');
  });
});

describe('diffLeaves', () => {
  const contact = {
    properties: { email: 'ada@example.org', firstname: 'Ada', lastmodifieddate: '2024-05-01T00:00:00Z', hs_extra: 'kept by HubSpot' },
    tags: ['a', 'b'],
    archived: false,
  };

  it('finds nothing to write when the wanted leaves are there, whatever else the system keeps', () => {
    expect(diffLeaves(contact, { properties: { email: 'ada@example.org', firstname: 'Ada' } })).toEqual({ fields: {}, changes: [] });
    expect(diffLeaves(contact, { properties: {} })).toEqual({ fields: {}, changes: [] });
  });

  it('writes only the leaves that differ, as a nested partial object named by dotted paths', () => {
    expect(diffLeaves(contact, { properties: { email: 'ada@lovelace.org', firstname: 'Ada' }, archived: false })).toEqual({
      fields: { properties: { email: 'ada@lovelace.org' } },
      changes: [{ field: 'properties.email', before: 'ada@example.org', after: 'ada@lovelace.org' }],
    });
    expect(diffLeaves({ a: { b: { c: 1, d: 2 } } }, { a: { b: { c: 3 } } })).toEqual({
      fields: { a: { b: { c: 3 } } },
      changes: [{ field: 'a.b.c', before: 1, after: 3 }],
    });
  });

  it('compares lists whole, as values, not by index', () => {
    expect(diffLeaves(contact, { tags: ['a', 'b'] }).changes).toEqual([]);
    expect(diffLeaves(contact, { tags: ['b', 'a'] })).toEqual({ fields: { tags: ['b', 'a'] }, changes: [{ field: 'tags', before: ['a', 'b'], after: ['b', 'a'] }] });
    expect(diffLeaves({ list: [{ a: 1, extra: 2 }] }, { list: [{ a: 1 }] }).fields).toEqual({ list: [{ a: 1 }] });
  });

  it('writes an object whole where the record has none, listing each of its leaves', () => {
    expect(diffLeaves({}, { properties: { email: 'x', address: { city: 'London' } }, name: 'Ada' })).toEqual({
      fields: { properties: { email: 'x', address: { city: 'London' } }, name: 'Ada' },
      changes: [
        { field: 'properties.email', before: undefined, after: 'x' },
        { field: 'properties.address.city', before: undefined, after: 'London' },
        { field: 'name', before: undefined, after: 'Ada' },
      ],
    });
    expect(diffLeaves({ properties: null }, { properties: { email: 'x' } }).changes).toEqual([{ field: 'properties.email', before: undefined, after: 'x' }]);
    expect(diffLeaves({ properties: 'text' }, { properties: { email: 'x' } })).toEqual({
      fields: { properties: { email: 'x' } },
      changes: [{ field: 'properties', before: 'text', after: { email: 'x' } }],
    });
  });

  it('tells null from absent, and skips undefined', () => {
    expect(diffLeaves({ p: {} }, { p: { phone: null } }).fields).toEqual({ p: { phone: null } });
    expect(diffLeaves({ p: { phone: null } }, { p: { phone: null } }).fields).toEqual({});
    expect(diffLeaves({ a: 1 }, { a: undefined, b: undefined }).fields).toEqual({});
  });

  it('escapes dots inside keys in the paths it names', () => {
    expect(diffLeaves({ 'a.b': { c: 1 } }, { 'a.b': { c: 2 } }).changes).toEqual([{ field: 'a\\.b.c', before: 1, after: 2 }]);
    expect(diffLeaves({}, { 'a.b': 1, 'c\\d': 2, e: 3 }).changes.map((change) => change.field)).toEqual(['a\\.b', 'c\\\\d', 'e']);
  });

  it('keeps a field named __proto__ as data, an own field of the patch, not its prototype', () => {
    const wanted = JSON.parse('{"__proto__": {"polluted": true}, "name": "x"}') as Record<string, unknown>;
    const { fields, changes } = diffLeaves({}, wanted);
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.hasOwn(fields, '__proto__')).toBe(true);
    expect(Object.keys(fields)).toEqual(['__proto__', 'name']);
    expect(changes.map((change) => change.field)).toEqual(['__proto__.polluted', 'name']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('gives a patch that, merged into the record, holds every wanted leaf and changes nothing else', () => {
    const value = fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 2 }), fc.constantFrom('x', 'y'), fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 2 }));
    const record = fc.letrec<{ record: Record<string, unknown> }>((tie) => ({
      record: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof({ depthSize: 'small' }, value, tie('record')), { maxKeys: 3 }),
    })).record;
    fc.assert(
      fc.property(record, record, (current, wanted) => {
        const { fields, changes } = diffLeaves(current, wanted);
        const after = mergeLeaves(current, fields);
        // What was wanted is there now: nothing is left to write.
        expect(diffLeaves(after, wanted).changes).toEqual([]);
        // Every change is a real one, and nothing is written when there is none.
        expect(changes.length === 0).toBe(Object.keys(fields).length === 0);
        if (changes.length === 0) expect(sameValue(after, current)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
