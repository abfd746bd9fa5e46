import { describe, expect, it } from 'vitest';
import { hubspotTime, readTime } from './dates';

// Date and datetime values in the one form HubSpot answers with, whichever form they come in.

describe('hubspotTime', () => {
  it('writes a datetime in UTC with milliseconds and Z, from ISO 8601 in any zone or epoch milliseconds', () => {
    const same = ['2024-06-03T12:00:00+02:00', '2024-06-03T10:00:00Z', '2024-06-03 05:00:00-0500', '2024-06-03t10:00z', '2024-06-03T10:00:00', Date.parse('2024-06-03T10:00:00Z'), String(Date.parse('2024-06-03T10:00:00Z'))];
    for (const value of same) expect(hubspotTime('datetime', value), String(value)).toEqual({ text: '2024-06-03T10:00:00.000Z' });
    expect(hubspotTime('datetime', '2024-06-03T10:00:00.123456Z')).toEqual({ text: '2024-06-03T10:00:00.123Z' });
    expect(hubspotTime('datetime', '2024-06-03')).toEqual({ text: '2024-06-03T00:00:00.000Z' });
  });

  it('writes a date as YYYY-MM-DD only when it falls on midnight UTC', () => {
    for (const value of ['2024-07-01', '2024-07-01T00:00:00Z', '2024-07-01T02:00:00+02:00', Date.parse('2024-07-01T00:00:00Z')]) expect(hubspotTime('date', value), String(value)).toEqual({ text: '2024-07-01' });
    expect(hubspotTime('date', '2024-07-01T00:00:00+02:00')).toEqual({ problem: expect.stringContaining('is 22:00:00.000 UTC on 2024-06-30, not midnight UTC') });
    expect(hubspotTime('date', Date.parse('2024-07-01T00:00:00.001Z'))).toEqual({ problem: expect.stringContaining('is 00:00:00.001 UTC on 2024-07-01') });
  });

  it('names what is no date: other formats, impossible days and times, years past 9999, other types', () => {
    for (const value of ['03/06/2024', '2024-02-30', '2024-06-03T24:00:00Z', 'tomorrow', '', 1.5, true, 8_640_000_000_000_000]) {
      expect(hubspotTime('date', value), String(value)).toEqual({ problem: expect.stringMatching(/^is not a date/) });
      expect(hubspotTime('datetime', value), String(value)).toEqual({ problem: expect.stringMatching(/^is not a date and time/) });
    }
  });
});

describe('readTime', () => {
  it('reads epoch milliseconds and other zones as the text a write sends, and keeps what is no date as it is', () => {
    expect(readTime('date', String(Date.parse('2022-05-28T00:00:00Z')))).toBe('2022-05-28');
    expect(readTime('date', '2022-05-28')).toBe('2022-05-28');
    expect(readTime('datetime', '2024-06-03T10:00:00Z')).toBe('2024-06-03T10:00:00.000Z');
    expect(readTime('datetime', '2024-06-03T10:00:00.000Z')).toBe('2024-06-03T10:00:00.000Z');
    expect(readTime('date', 'October 25, 2015')).toBe('October 25, 2015');
  });
});
