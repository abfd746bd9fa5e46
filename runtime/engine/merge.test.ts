import { describe, expect, it } from 'vitest';
import { mergeEntity, versionTime, type MergeInput, type MergeSide } from './merge';

const side = (nodeId: string, projection: Record<string, unknown> | null, shadow: Record<string, unknown> | null, version: string | number | null = null): MergeSide => ({
  nodeId,
  projection,
  shadow,
  version,
});

const input = (overrides: Partial<MergeInput>): MergeInput => ({
  golden: {},
  sides: [],
  policy: 'last-write-wins',
  fieldPolicies: {},
  heldFields: new Set(),
  ...overrides,
});

describe('mergeEntity', () => {
  const base = { email: 'ada@example.com', name: 'Ada', stage: 'Open' };

  it('keeps the golden value when no side changed a field', () => {
    const result = mergeEntity(input({ golden: base, sides: [side('crm', base, base), side('mkt', base, base)] }));
    expect(result.golden).toEqual(base);
    expect(result.changes).toEqual([]);
  });

  it('keeps edits to different fields on two sides', () => {
    const result = mergeEntity(
      input({
        golden: base,
        sides: [side('crm', { ...base, name: 'Ada L.' }, base, 10), side('mkt', { ...base, stage: 'Closed Lost' }, base, 5)],
      }),
    );
    expect(result.golden).toEqual({ email: 'ada@example.com', name: 'Ada L.', stage: 'Closed Lost' });
    expect(result.conflicts).toEqual([]);
  });

  it('takes the agreed value when every side that changed a field agrees', () => {
    const result = mergeEntity(input({ golden: base, sides: [side('crm', { ...base, name: 'X' }, base, 1), side('mkt', { ...base, name: 'X' }, base, 9)] }));
    expect(result.golden.name).toBe('X');
  });

  it('last-write-wins takes the side with the latest updatedAt, across ISO text and epoch numbers', () => {
    const sides = [side('crm', { ...base, name: 'From CRM' }, base, '2026-01-01T10:00:00Z'), side('mkt', { ...base, name: 'From MKT' }, base, Date.parse('2026-01-01T11:00:00Z'))];
    expect(mergeEntity(input({ golden: base, sides })).golden.name).toBe('From MKT');
  });

  it('last-write-wins falls back to trigger order on a tie or a missing updatedAt', () => {
    const tie = [side('crm', { ...base, name: 'A' }, base, 5), side('mkt', { ...base, name: 'B' }, base, 5)];
    expect(mergeEntity(input({ golden: base, sides: tie })).golden.name).toBe('A');
    const none = [side('crm', { ...base, name: 'A' }, base, null), side('mkt', { ...base, name: 'B' }, base, null)];
    expect(mergeEntity(input({ golden: base, sides: none })).golden.name).toBe('A');
  });

  it('prefer takes the named side, and falls back to last-write-wins when that side did not change the field', () => {
    const sides = [side('crm', { ...base, name: 'A' }, base, 1), side('mkt', { ...base, name: 'B' }, base, 9), side('hr', base, base, 20)];
    expect(mergeEntity(input({ golden: base, sides, policy: { prefer: 'crm' } })).golden.name).toBe('A');
    expect(mergeEntity(input({ golden: base, sides, policy: { prefer: 'hr' } })).golden.name).toBe('B');
  });

  it('per-field overrides win over the node policy', () => {
    const sides = [side('crm', { ...base, name: 'A', stage: 'S1' }, base, 1), side('mkt', { ...base, name: 'B', stage: 'S2' }, base, 9)];
    const result = mergeEntity(input({ golden: base, sides, fieldPolicies: { stage: { prefer: 'crm' } } }));
    expect(result.golden).toMatchObject({ name: 'B', stage: 'S1' });
  });

  it('manual keeps the golden value and reports base and every side', () => {
    const sides = [side('crm', { ...base, name: 'A' }, base, 1), side('mkt', { ...base, name: 'B' }, base, 9)];
    const result = mergeEntity(input({ golden: base, sides, policy: 'manual' }));
    expect(result.golden.name).toBe('Ada');
    expect(result.conflicts).toEqual([{ field: 'name', base: 'Ada', sides: { crm: 'A', mkt: 'B' } }]);
  });

  it('a held field stays as it is while its conflict is open', () => {
    const sides = [side('crm', { ...base, name: 'Again' }, base, 1), side('mkt', base, base, 9)];
    const result = mergeEntity(input({ golden: base, sides, heldFields: new Set(['name']) }));
    expect(result.golden.name).toBe('Ada');
    expect(result.conflicts[0]?.field).toBe('name');
  });

  it('a just-linked side counts each field that differs from the golden record as changed', () => {
    const result = mergeEntity(input({ golden: base, sides: [side('crm', base, base, 1), side('mkt', { ...base, stage: 'Won' }, null, 2)] }));
    expect(result.golden.stage).toBe('Won');
  });

  it('a new entity from two sides merges every field, deciding disagreements by policy', () => {
    const result = mergeEntity(input({ sides: [side('crm', { email: 'a@x', name: 'A' }, null, 2), side('mkt', { email: 'a@x', name: 'B', score: 3 }, null, 1)] }));
    expect(result.golden).toEqual({ email: 'a@x', name: 'A', score: 3 });
  });

  it('treats absent and null differently: a side that lacks a field has no opinion on it', () => {
    const result = mergeEntity(input({ golden: { a: 1, b: 2 }, sides: [side('crm', { a: 1 }, { a: 1 }), side('mkt', { a: 1, b: null }, { a: 1, b: 2 })] }));
    expect(result.golden).toEqual({ a: 1, b: null });
  });
});

describe('the rule that decided each change', () => {
  const base = { email: 'ada@example.com', name: 'Ada', stage: 'Open' };
  const rules = (result: ReturnType<typeof mergeEntity>) => Object.fromEntries(result.changes.map((change) => [change.field, `${change.rule} (${change.winner})`]));

  it('names one side changing a field, and sides that agree', () => {
    const sides = [side('crm', { ...base, name: 'X', stage: 'Won' }, base, 1), side('mkt', { ...base, name: 'X' }, base, 9)];
    expect(rules(mergeEntity(input({ golden: base, sides })))).toEqual({ name: 'agreement (crm)', stage: 'only change (crm)' });
  });

  it('names last-write-wins, and a prefer policy only where the preferred side changed the field', () => {
    const sides = [side('crm', { ...base, name: 'A', stage: 'S1' }, base, 1), side('mkt', { ...base, name: 'B', stage: 'S2' }, base, 9), side('hr', base, base, 20)];
    expect(rules(mergeEntity(input({ golden: base, sides })))).toEqual({ name: 'latest write (mkt)', stage: 'latest write (mkt)' });
    expect(rules(mergeEntity(input({ golden: base, sides, fieldPolicies: { stage: { prefer: 'crm' } } })))).toEqual({ name: 'latest write (mkt)', stage: 'prefer (crm)' });
    // hr changed neither field: its preference decides nothing, last-write-wins does.
    expect(rules(mergeEntity(input({ golden: base, sides, policy: { prefer: 'hr' } })))).toEqual({ name: 'latest write (mkt)', stage: 'latest write (mkt)' });
  });

  it('names the first sync of a new entity from one side; a new entity from two sides goes by the usual rules', () => {
    const one = mergeEntity(input({ firstSync: true, sides: [side('crm', base, null, 1), side('mkt', null, null)] }));
    expect(rules(one)).toEqual({ email: 'first sync (crm)', name: 'first sync (crm)', stage: 'first sync (crm)' });
    const two = mergeEntity(input({ firstSync: true, sides: [side('crm', { email: 'a@x', name: 'A' }, null, 2), side('mkt', { email: 'a@x', name: 'B', score: 3 }, null, 1)] }));
    expect(rules(two)).toEqual({ email: 'agreement (crm)', name: 'latest write (crm)', score: 'first sync (mkt)' });
  });
});

describe('versionTime', () => {
  it('reads numbers, ISO text and numeric text', () => {
    expect(versionTime(5)).toBe(5);
    expect(versionTime('2026-01-01T00:00:00.000Z')).toBe(Date.parse('2026-01-01T00:00:00.000Z'));
    expect(versionTime('17')).toBe(17);
    expect(versionTime('not a time')).toBeNull();
    expect(versionTime(null)).toBeNull();
  });
});

describe('mergeEntity on nested values', () => {
  const golden = { email: 'ada@example.com', address: { city: 'London', street: '1 Main St' } };

  it('sees no change in a nested object whose keys come back in another order', () => {
    const reordered = { email: 'ada@example.com', address: { street: '1 Main St', city: 'London' } };
    const result = mergeEntity(input({ golden, sides: [side('crm', reordered, golden), side('mkt', golden, golden)] }));
    expect(result.changes).toEqual([]);
    expect(result.golden).toEqual(golden);
  });

  it('merges a nested object of the conflict vocabulary as one field', () => {
    const moved = { ...golden, address: { city: 'Paris', street: '1 Main St' } };
    const result = mergeEntity(input({ golden, sides: [side('crm', moved, golden), side('mkt', golden, golden)] }));
    expect(result.changes).toEqual([{ field: 'address', from: golden.address, to: moved.address, winner: 'crm', rule: 'only change' }]);
  });
});
