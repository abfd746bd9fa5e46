import { describe, expect, it } from 'vitest';
import { applyFieldChange, connectionFormSchema, initialConnection, isFieldShown, listValue, lookupReady, valueAt, withListItem, withValueAt, type ConnectionForm } from './connectionForm';

const form: ConnectionForm = {
  fields: [
    { key: 'token', label: 'Token', kind: 'credential', required: true },
    { key: 'base', label: 'Base', kind: 'text' },
    { key: 'repo', label: 'Repository', kind: 'lookup', dependsOn: ['token', 'base'], required: true },
    {
      key: 'pages.style',
      label: 'Pages',
      kind: 'select',
      default: 'none',
      options: [
        { value: 'none', label: 'none' },
        { value: 'cursor', label: 'cursor' },
      ],
    },
    { key: 'pages.cursor', label: 'Cursor at', kind: 'text', required: true, when: { key: 'pages.style', is: ['cursor'] } },
    { key: 'pages.size', label: 'Size', kind: 'number', when: { key: 'pages.cursor', is: ['next'] } },
  ],
};

describe('connection form values', () => {
  it('reads and writes dotted keys, leaving no empty object behind a removal', () => {
    const connection = withValueAt({ a: 1 }, 'pages.style', 'cursor');
    expect(connection).toEqual({ a: 1, pages: { style: 'cursor' } });
    expect(valueAt(connection, 'pages.style')).toBe('cursor');
    expect(valueAt(connection, 'pages.style.deeper')).toBeUndefined();
    expect(withValueAt(connection, 'pages.style', undefined)).toEqual({ a: 1 });
    expect(withValueAt({ a: 1 }, 'missing.key', undefined)).toEqual({ a: 1 });
  });

  it('shows a field by its controller’s value, or the controller’s default, and only while the controller shows', () => {
    const cursor = form.fields[4]!;
    const size = form.fields[5]!;
    expect(isFieldShown(form, {}, cursor)).toBe(false);
    expect(isFieldShown(form, { pages: { style: 'cursor' } }, cursor)).toBe(true);
    expect(isFieldShown(form, { pages: { style: 'cursor', cursor: 'next' } }, size)).toBe(true);
    expect(isFieldShown(form, { pages: { style: 'none', cursor: 'next' } }, size)).toBe(false);
  });

  it('drops what no longer applies when a field changes, following chains of conditions', () => {
    const connection = { pages: { style: 'cursor', cursor: 'next', size: 5 } };
    expect(applyFieldChange(form, connection, 'pages.style', 'none')).toEqual({ pages: { style: 'none' } });
    expect(applyFieldChange(form, connection, 'pages.style', undefined)).toEqual({});
  });

  it('starts a connection with its required text-like fields empty, and asks a lookup once what it needs is there', () => {
    const start = initialConnection(form);
    expect(start).toEqual({ token: '', repo: '' });
    const lookup = form.fields[2] as Extract<ConnectionForm['fields'][number], { kind: 'lookup' }>;
    expect(lookupReady(form, start, lookup)).toBe(false);
    expect(lookupReady(form, { ...start, token: 'gh' }, lookup)).toBe(true);
  });
});

describe('list-valued lookups (multiple)', () => {
  const lists: ConnectionForm = {
    fields: [
      { key: 'token', label: 'Token', kind: 'credential', required: true },
      { key: 'properties', label: 'Properties', kind: 'lookup', dependsOn: ['token'], multiple: true },
      { key: 'courses', label: 'Courses', kind: 'lookup', dependsOn: ['token'], multiple: true, required: true },
    ],
  };

  it('are declared with `multiple`, which only a lookup takes', () => {
    expect(connectionFormSchema.parse(lists)).toEqual(lists);
    expect(() => connectionFormSchema.parse({ fields: [{ key: 'repo', label: 'Repository', kind: 'text', multiple: true }] })).toThrow(/multiple/);
  });

  it('start a required list with no items, not with empty text', () => {
    expect(initialConnection(lists)).toEqual({ token: '', courses: [] });
  });

  it('read a list, or text separated by commas as flows already hold it, as the same items', () => {
    expect(listValue(['email', 'firstname'])).toEqual(['email', 'firstname']);
    expect(listValue('email, firstname ,lifecyclestage')).toEqual(['email', 'firstname', 'lifecyclestage']);
    expect(listValue('email;firstname,,')).toEqual(['email', 'firstname']);
    expect(listValue([12, ' 15 '])).toEqual(['12', '15']);
    expect(listValue(undefined)).toEqual([]);
    expect(listValue({ email: true })).toEqual([]);
    expect(listValue([null, 'email'])).toEqual(['email']);
  });

  it('tick an item last and untick it where it was, leaving the order of the rest; always writing a list', () => {
    expect(withListItem(['email', 'firstname'], 'lifecyclestage', true)).toEqual(['email', 'firstname', 'lifecyclestage']);
    expect(withListItem(['email', 'firstname', 'lastname'], 'firstname', false)).toEqual(['email', 'lastname']);
    expect(withListItem(['email'], 'email', true)).toEqual(['email']);
    // A flow written with text keeps its items and their order; what the form writes back is a list.
    expect(withListItem('email, firstname', 'lastname', true)).toEqual(['email', 'firstname', 'lastname']);
    expect(withListItem('email, email', 'firstname', true)).toEqual(['email', 'firstname']);
    // The last item unticked leaves nothing, so an optional setting leaves the document and its default applies.
    expect(withListItem(['email'], 'email', false)).toBeUndefined();
    expect(withListItem(undefined, 'email', false)).toBeUndefined();
    expect(applyFieldChange(lists, { token: 't', properties: ['email'] }, 'properties', withListItem(['email'], 'email', false))).toEqual({ token: 't' });
  });
});
