import { describe, expect, it } from 'vitest';
import { compareVersions, sameVersion } from './versions';

describe('versions', () => {
  it('orders null, then numbers, then text, as SQLite orders mixed values and connectors list them', () => {
    const versions = ['2024-06-03T12:00:00Z', 10, null, '10', 9, '2024-06-03T11:59:59Z'];
    expect([...versions].sort(compareVersions)).toEqual([null, 9, 10, '10', '2024-06-03T11:59:59Z', '2024-06-03T12:00:00Z']);
  });

  it('puts a number before text even where their text would sort the other way', () => {
    // As text, "5" sorts after "2024-…"; a listing in the connectors' order has every number first.
    expect(compareVersions(5, '2024-06-03T12:00:00Z')).toBeLessThan(0);
    expect(compareVersions('2024-06-03T12:00:00Z', 5)).toBeGreaterThan(0);
  });

  it('never takes a number for the text that spells it', () => {
    expect(sameVersion(5, '5')).toBe(false);
    expect(sameVersion(5, 5)).toBe(true);
    expect(sameVersion('2024-06-03T12:00:00Z', '2024-06-03T12:00:00Z')).toBe(true);
    expect(sameVersion(null, null)).toBe(true);
    expect(sameVersion(null, 0)).toBe(false);
  });
});
