import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { EntityInspectionView } from '../api/client';
import { FieldsTable } from './RecordInspector';

/** A linked record whose `name` its sides have disagreed on since it was first linked, and an `email` set long ago. */
const view: EntityInspectionView = {
  flowId: 'leads',
  entityId: 'e1',
  recordName: null,
  deleted: false,
  quarantined: false,
  createdAt: '2026-12-03T12:00:00.000Z',
  updatedAt: '2026-12-03T12:00:00.000Z',
  fields: [
    { field: 'name', value: null, provenance: null },
    { field: 'email', value: 'ada@example.com', provenance: null },
  ],
  sides: [],
  conflicts: [
    {
      id: 'c1',
      flowId: 'leads',
      entityId: 'e1',
      recordName: null,
      kind: 'field',
      field: 'name',
      base: null,
      sides: { crm: 'Ada', mkt: 'Ada L.' },
      status: 'open',
      resolution: null,
      createdAt: '2026-12-03T12:00:00.000Z',
      resolvedAt: null,
    },
  ],
  log: [],
};

/** The text of each cell of a field's row. */
function row(field: string): string[] {
  const html = renderToStaticMarkup(<FieldsTable view={view} label="the record" sideName={(id) => id} />);
  const found = new RegExp(`<tr><th scope="row">${field}</th>(.*?)</tr>`).exec(html);
  return [...(found?.[1] ?? '').matchAll(/<td>(.*?)<\/td>/g)].map((cell) => (cell[1] ?? '').replace(/<[^>]+>/g, ''));
}

describe('the record inspector', () => {
  it('says a field held by a conflict since the record was linked waits on it, not that its origin went unrecorded', () => {
    expect(row('name').slice(0, 2)).toEqual(['—waiting on an open conflict', 'nothing yet: the open conflict below decides its value']);
    expect(row('email')[1]).toBe('not recorded (set before Syncline kept where values came from)');
  });
});
