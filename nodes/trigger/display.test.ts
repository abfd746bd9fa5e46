import { describe, expect, it } from 'vitest';
import { recordDisplayName } from './display';
import { describeInterval } from './index';

describe('what names a record', () => {
  it('takes the display field, else the first of name, title, subject, email', () => {
    expect(recordDisplayName({ full_name: 'Ada', email: 'ada@example.com' }, 'full_name')).toBe('Ada');
    expect(recordDisplayName({ full_name: '  ', email: 'ada@example.com' }, 'full_name')).toBe('ada@example.com');
    expect(recordDisplayName({ subject: 'Printer on fire', title: 'Bug 7', email: 'x@y' })).toBe('Bug 7');
    expect(recordDisplayName({ properties: { name: 'Ada' } }, 'properties.name')).toBe('Ada');
    expect(recordDisplayName({ number: 42 }, 'number')).toBe('42');
    expect(recordDisplayName({ id: 7, tags: ['a'] })).toBeNull();
  });

  it('says a poll interval in units a person reads, and one that is not valid as such', () => {
    expect([5000, 1500, 250, 90_000, 7_200_000].map(describeInterval)).toEqual(['every 5s', 'every 1.5s', 'every 250 ms', 'every 1.5 min', 'every 2 h']);
    expect([-5, 0, 50, Number.NaN, '5s'].map(describeInterval)).toEqual(Array(5).fill('interval not valid'));
  });
});
