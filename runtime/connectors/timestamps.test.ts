import { describe, expect, it } from 'vitest';
import { coarseStampMs, compareTimeVersions, detectTimestampFormat, formatTimestamp, isoSeconds, isoTextFormat, isoVersion, nextStampMs, resolutionMs, timeOrderKey } from './timestamps';

const at = Date.UTC(2024, 4, 1, 10, 0, 0, 250);

describe('detectTimestampFormat and formatTimestamp', () => {
  it.each([
    ['2020-01-01T00:00:00.000Z', 'TEXT', '2024-05-01T10:00:00.250Z'],
    ['2020-01-01 00:00:00', 'DATETIME', '2024-05-01 10:00:00.250'],
    ['2020-01-01 00:00:00.123456', 'TEXT', '2024-05-01 10:00:00.250000'],
    ['2020-01-01T00:00:00+00:00', '', '2024-05-01T10:00:00.250+00:00'],
    ['2020-01-01T00:00:00+02:00', 'TEXT', '2024-05-01T12:00:00.250+02:00'],
    ['2020-01-01T00:00:00-0530', 'TEXT', '2024-05-01T04:30:00.250-0530'],
    ['2020-01-01T00:00', 'TEXT', '2024-05-01T10:00:00.250'],
  ])('copies the shape of %s', (sample, declared, expected) => {
    expect(formatTimestamp(at, detectTimestampFormat(sample, declared))).toBe(expected);
  });

  it('keeps a written stamp between the second-resolution values around it', () => {
    const written = formatTimestamp(at, detectTimestampFormat('2024-05-01 09:00:00', 'TEXT')) as string;
    expect(written > '2024-05-01 10:00:00').toBe(true);
    expect(written < '2024-05-01 10:00:01').toBe(true);
  });

  it('tells epoch milliseconds from epoch seconds by size', () => {
    expect(formatTimestamp(at, detectTimestampFormat(1_600_000_000_000, 'INTEGER'))).toBe(at);
    expect(formatTimestamp(at, detectTimestampFormat(1_600_000_000, 'INTEGER'))).toBe(Math.floor(at / 1000));
    expect(formatTimestamp(at, detectTimestampFormat(1_600_000_000.5, ''))).toBe(at / 1000);
    expect(formatTimestamp(at, detectTimestampFormat(1_600_000_000, 'REAL'))).toBe(at / 1000);
    expect(formatTimestamp(at, detectTimestampFormat('1600000000000', 'TEXT'))).toBe(at);
  });

  it('falls back to the declared type for an empty column, and to ISO-8601 for text it cannot read', () => {
    expect(detectTimestampFormat(null, 'INTEGER')).toEqual({ kind: 'epochMs' });
    expect(detectTimestampFormat(null, 'BIGINT')).toEqual({ kind: 'epochMs' });
    expect(detectTimestampFormat(null, 'DOUBLE')).toEqual({ kind: 'epochMs' });
    expect(detectTimestampFormat(null, 'TIMESTAMP')).toEqual(isoTextFormat);
    expect(detectTimestampFormat(null, '')).toEqual(isoTextFormat);
    expect(detectTimestampFormat('last tuesday', 'TEXT')).toEqual(isoTextFormat);
  });

  it('steps seconds-resolution columns by whole seconds', () => {
    expect(resolutionMs(detectTimestampFormat(1_600_000_000, 'INTEGER'))).toBe(1000);
    expect(resolutionMs(detectTimestampFormat(1_600_000_000.5, 'REAL'))).toBe(1);
    expect(resolutionMs(isoTextFormat)).toBe(1);
  });
});

describe('nextStampMs', () => {
  it('never hands out the same or an earlier stamp twice, even when the clock stands still or goes back', () => {
    const base = Date.now() + 10_000_000;
    const stamps = [nextStampMs(1, base), nextStampMs(1, base), nextStampMs(1, base - 5), nextStampMs(1, base + 100)];
    expect(stamps).toEqual([base, base + 1, base + 2, base + 100]);
  });

  it('steps by the resolution it is asked for', () => {
    const base = Math.floor(Date.now() / 1000) * 1000 + 20_000_000;
    expect([nextStampMs(1000, base + 10), nextStampMs(1000, base + 20)]).toEqual([base, base + 1000]);
  });
});

describe('isoVersion and isoSeconds', () => {
  it.each([
    ['2024-06-03T12:00:00Z', '2024-06-03T12:00:00Z'],
    ['2015-10-21T15:41:36+00:00', '2015-10-21T15:41:36Z'],
    ['2011-06-02T19:26:23+0200', '2011-06-02T17:26:23Z'],
    ['2024-06-03T12:00:00.999Z', '2024-06-03T12:00:00Z'],
  ])('keeps %s as %s: UTC, whole seconds, one format', (value, version) => {
    expect(isoVersion(value)).toBe(version);
  });

  it('is null for what is not a time', () => {
    for (const value of ['', 'soon', 12, null, undefined]) expect(isoVersion(value)).toBeNull();
  });

  it('rounds an instant down to its second', () => {
    expect(isoSeconds(Date.UTC(2024, 0, 1, 12, 0, 0, 999))).toBe('2024-01-01T12:00:00Z');
    expect(isoSeconds(new Date(Date.UTC(2024, 0, 1, 12, 0, 0)))).toBe('2024-01-01T12:00:00Z');
  });
});

describe('timeOrderKey and compareTimeVersions', () => {
  it('orders times by the instant, whatever the width of their fraction or their offset', () => {
    const written = ['2024-05-01T10:00:01Z', '2024-05-01T10:00:00.123Z', '2024-05-01T12:00:00.5+02:00', '2024-05-01T10:00:00Z', '2024-05-01T10:00:00.12Z', '2024-05-01 10:00:00.000001'];
    expect([...written].sort(compareTimeVersions)).toEqual([
      '2024-05-01T10:00:00Z',
      '2024-05-01 10:00:00.000001',
      '2024-05-01T10:00:00.12Z',
      '2024-05-01T10:00:00.123Z',
      '2024-05-01T12:00:00.5+02:00',
      '2024-05-01T10:00:01Z',
    ]);
  });

  it('keys fractions finer than milliseconds apart, and one instant written two ways alike', () => {
    expect(timeOrderKey('2024-05-01T10:00:00.123456789Z')).toBe('2024-05-01T10:00:00.123456789Z');
    expect(compareTimeVersions('2024-05-01T10:00:00.1234567Z', '2024-05-01T10:00:00.1234568Z')).toBeLessThan(0);
    expect(compareTimeVersions('2024-05-01T12:00:00+0200', '2024-05-01T10:00:00.000Z')).toBe(0);
  });

  it('falls back to the order of versions for anything that is not a time', () => {
    expect(timeOrderKey('v12')).toBeNull();
    expect(compareTimeVersions('b', 'a')).toBeGreaterThan(0);
    expect(compareTimeVersions(5, '2024-05-01T10:00:00Z')).toBeLessThan(0);
    expect(compareTimeVersions(null, 5)).toBeLessThan(0);
  });
});

describe('coarseStampMs', () => {
  it.each([
    ['2024-05-01', 86_400_000],
    ['2024-05-01 10:00', 60_000],
    ['2024-05-01 10:00:00', 1000],
    ['2024-05-01T10:00:00.5Z', 100],
    ['2024-05-01T10:00:00.123Z', null],
    [1_714_557_600, 1000],
    [1_714_557_600_000, null],
  ])('gives %s a step of %s ms', (sample, step) => {
    expect(coarseStampMs(sample, detectTimestampFormat(sample, ''))).toBe(step);
  });
});
