import { describe, expect, it } from 'vitest';
import { timeOrderedUuid, writeId } from './ids';

describe('engine ids', () => {
  it('makes version 7 UUIDs that sort by time', () => {
    const earlier = timeOrderedUuid(Date.parse('2026-01-01T00:00:00Z'));
    const later = timeOrderedUuid(Date.parse('2026-01-01T00:00:00.001Z'));
    expect(earlier).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(earlier < later).toBe(true);
  });

  it('makes write ids that sort by time and do not repeat', () => {
    const ids = Array.from({ length: 10_000 }, () => writeId(1_800_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect(writeId(1_800_000_000_000) < writeId(1_800_000_000_001)).toBe(true);
    expect(ids[0]).toMatch(/^[0-9a-f]{12}[\w-]{12}$/);
  });
});
