import { describe, expect, it } from 'vitest';
import { allSettledOrThrow } from './promises';

describe('allSettledOrThrow', () => {
  it('gives the values in the order of the promises, whatever order they settle in', async () => {
    let release!: () => void;
    const late = new Promise<string>((resolve) => (release = () => resolve('late')));
    const all = allSettledOrThrow([late, Promise.resolve('early')]);
    release();
    expect(await all).toEqual(['late', 'early']);
  });

  it('throws the first rejection only once every promise has settled', async () => {
    const events: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve)).then(() => void events.push('slow ended'));
    const failed = Promise.reject(new Error('first')).finally(() => events.push('first failed'));
    const alsoFailed = Promise.reject(new Error('second'));
    const all = allSettledOrThrow([slow, failed, alsoFailed]).catch((error: unknown) => {
      events.push('caller sees the failure');
      return error;
    });
    // The failures are in; the slow one is not, so the caller has not heard yet.
    await failed.catch(() => undefined);
    expect(events).toEqual(['first failed']);
    release();
    expect(((await all) as Error).message).toBe('first');
    expect(events).toEqual(['first failed', 'slow ended', 'caller sees the failure']);
  });
});
