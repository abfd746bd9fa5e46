import { describe, expect, it } from 'vitest';
import { holdFor, nextPollIn, RATE_LIMIT_RECHECK_MS } from './holds';

describe('rate-limit holds', () => {
  const now = new Date('2026-12-05T12:00:00.000Z');

  it('hold a part until the system said, a minute at most', () => {
    expect(holdFor('2026-12-05T12:00:20.000Z', 'limited', now)).toEqual({ until: '2026-12-05T12:00:20.000Z', reason: 'limited' });
    expect(holdFor('2026-12-05T13:00:00.000Z', 'limited', now).until).toBe('2026-12-05T12:01:00.000Z');
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
