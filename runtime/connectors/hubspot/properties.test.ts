import { describe, expect, it } from 'vitest';
import { PropertyCatalog, type PropertyInfo } from './properties';

const property = (name: string, type: string, readOnly = false): [string, PropertyInfo] => [name, { name, label: name, type, fieldType: 'text', groupName: 'contactinformation', readOnly }];
const catalog = PropertyCatalog.of(
  'contacts',
  new Map([property('email', 'string'), property('next_call', 'datetime'), property('renewal', 'date'), property('employees', 'number'), property('opted_in', 'bool'), property('score', 'number', true)]),
  ['email', 'next_call', 'renewal', 'employees', 'opted_in', 'score'],
);

describe('PropertyCatalog.storedForm: what the next read finds for what is written', () => {
  it('turns values HubSpot keeps in a form of its own into that form', () => {
    const fields = { properties: { email: 'ada@example.com', next_call: '2024-06-03T12:00:00+02:00', renewal: 1719792000000, employees: '17', opted_in: 'true' } };
    expect(catalog.storedForm(fields)).toEqual({
      properties: { email: 'ada@example.com', next_call: '2024-06-03T10:00:00.000Z', renewal: '2024-07-01', employees: 17, opted_in: true },
    });
  });

  it('leaves what HubSpot would refuse, read-only properties and other fields as they are, and returns fields unchanged when nothing moves', () => {
    const refused = { properties: { renewal: '2024-07-01T15:00:00Z', next_call: 'soon', score: '5', unknown: '1' }, other: 1 };
    expect(catalog.storedForm(refused)).toBe(refused);
    const same = { properties: { email: 'ada@example.com', employees: 17, next_call: null } };
    expect(catalog.storedForm(same)).toBe(same);
  });
});
