import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deletePath, formatPath, getPath, hasPath, isInside, leaves, mergeLeaves, parsePath, PathError, pathProblem, peekPath, setPath, type OwnedObjects } from './paths';

/** Frozen inputs make any write in place throw, so the tests also show that records are copied, never changed. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

describe('field path syntax', () => {
  it('splits on dots, with \\. for a dot and \\\\ for a backslash inside a key', () => {
    expect(parsePath('email')).toEqual(['email']);
    expect(parsePath('properties.email')).toEqual(['properties', 'email']);
    expect(parsePath('a\\.b')).toEqual(['a.b']);
    expect(parsePath('a\\.b.c')).toEqual(['a.b', 'c']);
    expect(parsePath('dir\\\\.x')).toEqual(['dir\\', 'x']);
    expect(parsePath('merge_fields.FNAME')).toEqual(['merge_fields', 'FNAME']);
  });

  it('formats keys back into the same path', () => {
    expect(formatPath(['properties', 'email'])).toBe('properties.email');
    expect(formatPath(['a.b', 'c'])).toBe('a\\.b.c');
    expect(formatPath(['dir\\'])).toBe('dir\\\\');
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom('a', '.', '\\', 'b') }), { minLength: 1, maxLength: 4 }), (keys) => {
        expect(parsePath(formatPath(keys))).toEqual(keys);
      }),
    );
  });

  it('explains what is wrong with a path', () => {
    expect(pathProblem('properties.email')).toBeNull();
    expect(pathProblem('a..b')).toMatch(/empty key before character 3/);
    expect(pathProblem('.a')).toMatch(/empty key at the start/);
    expect(pathProblem('a.')).toMatch(/ends with a dot/);
    expect(pathProblem('a\\b')).toBe('a backslash must come before "." or "\\" (at character 2); write a dot inside a key as \\. and a backslash as \\\\');
    expect(pathProblem('a\\')).toMatch(/backslash/);
    expect(() => parsePath('a..b')).toThrow(SyntaxError);
  });

  it('tells a path inside another', () => {
    expect(isInside(['a', 'b'], ['a'])).toBe(true);
    expect(isInside(['a'], ['a'])).toBe(false);
    expect(isInside(['ab'], ['a'])).toBe(false);
    expect(isInside(['a.b'], ['a'])).toBe(false);
  });
});

describe('reading by path', () => {
  const record = deepFreeze({ properties: { email: 'ada@example.org', empty: null }, 'a.b': 1, name: 'Ada', tags: ['x'], none: null });

  it('reads nested values and finds absent ones absent', () => {
    expect(getPath(record, 'properties.email')).toBe('ada@example.org');
    expect(getPath(record, 'properties.empty')).toBeNull();
    expect(getPath(record, 'properties.phone')).toBeUndefined();
    expect(getPath(record, 'missing.phone')).toBeUndefined();
    expect(getPath(record, 'a\\.b')).toBe(1);
    expect(getPath(record, 'a.b')).toBeUndefined();
    expect(hasPath(record, 'properties.email')).toBe(true);
    expect(hasPath(record, 'properties.empty')).toBe(true);
    expect(hasPath(record, 'properties.phone')).toBe(false);
  });

  it('finds nothing inside null, which is no value', () => {
    expect(getPath(record, 'none.x')).toBeUndefined();
  });

  it('refuses to go inside text or a list, saying what is there', () => {
    expect(() => getPath(record, 'name.first')).toThrow(PathError);
    expect(() => getPath(record, 'name.first')).toThrow('"name" holds text ("Ada"), not an object, so "name.first" cannot go inside it');
    expect(() => getPath(record, 'tags.0')).toThrow('"tags" holds a list (of 1), not an object, so "tags.0" cannot go inside it');
    expect(peekPath(record, 'name.first')).toBeUndefined();
  });
});

describe('writing by path', () => {
  it('sets a nested value, copying the objects on the way and creating missing ones', () => {
    const input = deepFreeze({ properties: { email: 'a', firstname: 'Ada' }, other: { keep: true } });
    const record = { ...input };
    setPath(record, 'properties.email', 'b');
    setPath(record, 'meta.source.kind', 'crm');
    expect(record).toEqual({ properties: { email: 'b', firstname: 'Ada' }, other: { keep: true }, meta: { source: { kind: 'crm' } } });
    expect(input.properties.email).toBe('a');
    expect(record.other).toBe(input.other);
  });

  it('replaces null on the way by an object, and refuses to go inside text', () => {
    const record: Record<string, unknown> = { a: null, b: 'text', c: [1] };
    setPath(record, 'a.x', 1);
    expect(record.a).toEqual({ x: 1 });
    expect(() => setPath(record, 'b.x', 1)).toThrow('"b" holds text ("text"), not an object, so "b.x" cannot go inside it');
    expect(() => setPath(record, 'c.x', 1)).toThrow(PathError);
    expect(record).toEqual({ a: { x: 1 }, b: 'text', c: [1] });
  });

  it('copies a shared object once when the caller says which objects it owns', () => {
    const shared = deepFreeze({ email: 'a' });
    const record: Record<string, unknown> = { properties: shared };
    const owned: OwnedObjects = new WeakSet();
    setPath(record, 'properties.firstname', 'Ada', owned);
    const copy = record.properties;
    setPath(record, 'properties.lastname', 'Lovelace', owned);
    expect(record.properties).toBe(copy);
    expect(record.properties).toEqual({ email: 'a', firstname: 'Ada', lastname: 'Lovelace' });
  });

  it('writes a key named __proto__ as data', () => {
    const record: Record<string, unknown> = {};
    setPath(record, '__proto__.polluted', true);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(record)).toBe('{"__proto__":{"polluted":true}}');
  });

  it('deletes a nested value and the objects it leaves empty, never changing the input', () => {
    const input = deepFreeze({ properties: { email: 'a' }, meta: { a: 1, b: 2 }, name: 'Ada' });
    const record = { ...input } as Record<string, unknown>;
    deletePath(record, 'properties.email');
    deletePath(record, 'meta.a');
    expect(record).toEqual({ meta: { b: 2 }, name: 'Ada' });
    expect(input).toEqual({ properties: { email: 'a' }, meta: { a: 1, b: 2 }, name: 'Ada' });
    // Nothing to delete: an absent path, or one that goes inside text.
    deletePath(record, 'meta.zzz');
    deletePath(record, 'name.first');
    expect(record).toEqual({ meta: { b: 2 }, name: 'Ada' });
  });
});

describe('merging a partial record', () => {
  it('writes leaves into nested objects and replaces lists and other values whole', () => {
    const record = deepFreeze({ properties: { email: 'a', firstname: 'Ada', hs_extra: 1 }, tags: ['x', 'y'], name: 'Ada' });
    expect(mergeLeaves(record, { properties: { email: 'b' }, tags: ['z'] })).toEqual({ properties: { email: 'b', firstname: 'Ada', hs_extra: 1 }, tags: ['z'], name: 'Ada' });
    expect(mergeLeaves(record, { properties: 'gone' })).toEqual({ properties: 'gone', tags: ['x', 'y'], name: 'Ada' });
    expect(mergeLeaves({ a: 'text' }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
  });

  it('lists leaves by path, an empty object being a leaf of its own', () => {
    expect(leaves({ a: { b: 1, c: { d: [1] } }, e: {}, f: null })).toEqual([
      [['a', 'b'], 1],
      [['a', 'c', 'd'], [1]],
      [['e'], {}],
      [['f'], null],
    ]);
  });
});
