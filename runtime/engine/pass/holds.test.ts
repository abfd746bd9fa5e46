import { describe, expect, it } from 'vitest';
import type { CompiledPart } from '../graph';
import { heldUntil, holdOn, nextPollIn, RATE_LIMIT_RECHECK_MS, sameLimit } from './holds';

describe('rate-limit holds', () => {
  const now = new Date('2026-12-05T12:00:00.000Z');

  const part = { triggers: [{ nodeId: 'gh' }, { nodeId: 'db' }] } as unknown as CompiledPart;

  it('keep a part alone until the system said, a minute at most from the refusal', () => {
    const soon = { since: now.toISOString(), until: '2026-12-05T12:00:20.000Z', reason: 'limited' };
    const late = { since: now.toISOString(), until: '2026-12-05T13:00:00.000Z', reason: 'limited' };
    expect(heldUntil(soon)).toBe('2026-12-05T12:00:20.000Z');
    expect(heldUntil(late)).toBe('2026-12-05T12:01:00.000Z');
    expect(holdOn(part, new Map([['gh', late]]), new Date('2026-12-05T12:00:59.000Z'))).toBe(late);
    expect(holdOn(part, new Map([['gh', late]]), new Date('2026-12-05T12:01:00.000Z'))).toBeNull();
    expect(holdOn(part, new Map([['other', late]]), now)).toBeNull();
  });

  it('take a refusal before the system’s time for the same limit, and one after it for news', () => {
    const late = { since: now.toISOString(), until: '2026-12-05T13:00:00.000Z', reason: 'limited' };
    expect(sameLimit(part, new Map([['db', late]]), new Date('2026-12-05T12:30:00.000Z'))).toBe(true);
    expect(sameLimit(part, new Map([['db', late]]), new Date('2026-12-06T12:00:00.000Z'))).toBe(false);
    expect(sameLimit(part, new Map(), now)).toBe(false);
  });

  it('time the next poll by the interval, unless every part waits for a system', () => {
    const at = now.getTime();
    expect(nextPollIn(10_000, 4_000, undefined, at)).toEqual({ delayMs: 6_000, waitsForLimit: false });
    expect(nextPollIn(10_000, 14_000, undefined, at)).toEqual({ delayMs: 0, waitsForLimit: false });
    // A limit that lifts before the next poll anyway changes nothing.
    expect(nextPollIn(10_000, 4_000, '2026-12-05T12:00:03.000Z', at)).toEqual({ delayMs: 6_000, waitsForLimit: false });
    expect(nextPollIn(10_000, 4_000, '2026-12-05T12:00:30.000Z', at)).toEqual({ delayMs: 30_000, waitsForLimit: true });
    expect(nextPollIn(10_000, 4_000, '2026-12-05T13:00:00.000Z', at)).toEqual({ delayMs: RATE_LIMIT_RECHECK_MS, waitsForLimit: true });
    // A flow polled less often than the recheck keeps its own interval.
    expect(nextPollIn(300_000, 0, '2026-12-05T13:00:00.000Z', at)).toEqual({ delayMs: 300_000, waitsForLimit: true });
  });
});
