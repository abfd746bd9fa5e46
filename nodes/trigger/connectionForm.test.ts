import { describe, expect, it } from 'vitest';
import { applyFieldChange, initialConnection, isFieldShown, lookupReady, valueAt, withValueAt, type ConnectionForm } from './connectionForm';

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
