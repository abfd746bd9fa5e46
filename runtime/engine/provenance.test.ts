import { describe, expect, it } from 'vitest';
import { provenanceAfterMerge, provenanceAfterResolution, provenanceRunIds, readProvenance } from './provenance';

describe('provenance', () => {
  const first = { runId: 'run-1', at: '2026-12-01T10:00:00.000Z' };
  const second = { runId: 'run-2', at: '2026-12-02T10:00:00.000Z' };
  const created = provenanceAfterMerge(
    null,
    ['name', 'stage'].map((field) => ({ field, from: undefined, to: `${field} 1`, winner: 'a', rule: 'first sync' as const })),
    first,
    true,
  );

  it('replaces the entry of each changed field only, and leaves out a `before` the field did not have', () => {
    const text = provenanceAfterMerge(
      created,
      [
        { field: 'name', from: 'name 1', to: 'Ada L.', winner: 'b', rule: 'latest write' },
        { field: 'score', from: null, to: 3, winner: 'a', rule: 'only change' },
      ],
      second,
    );
    const golden = { name: 'Ada L.', stage: 'stage 1', score: 3 };
    expect(readProvenance(text, golden)).toEqual({
      name: { side: 'b', runId: 'run-2', before: 'name 1', after: 'Ada L.', rule: 'latest write', at: second.at },
      stage: { side: 'a', runId: 'run-1', after: 'stage 1', rule: 'first sync', at: first.at },
      // A value that was null before is a value: it is kept, unlike one that was absent.
      score: { side: 'a', runId: 'run-2', before: null, after: 3, rule: 'only change', at: second.at },
    });
    expect(provenanceRunIds(text).sort()).toEqual(['run-1', 'run-2']);
  });

  it('keeps one entry for fields set together, and forgets entries no field names any more', () => {
    // A first sync stores who set its fields once, and lists none of them: they are the rest of the golden record.
    expect(JSON.parse(created)).toEqual({ by: [['a', 'run-1', 'first sync', first.at]], rest: 0 });
    // The name changed twice: the entry of its first change goes with the second.
    let text = created;
    for (const run of ['run-3', 'run-4']) text = provenanceAfterMerge(text, [{ field: 'name', from: 'before', to: run, winner: 'b', rule: 'only change' }], { runId: run, at: second.at });
    expect(provenanceRunIds(text).sort()).toEqual(['run-1', 'run-4']);
    expect((JSON.parse(text) as { by: unknown[] }).by).toHaveLength(2);
    expect(readProvenance(text, { name: 'run-4', stage: 'stage 1' })).toMatchObject({ name: { runId: 'run-4' }, stage: { runId: 'run-1', rule: 'first sync' } });
  });

  it('claims no other field for a change to an entity stored before provenance was kept', () => {
    const text = provenanceAfterMerge(null, [{ field: 'name', from: 'Ada', to: 'Ada L.', winner: 'b', rule: 'only change' }], second);
    expect(Object.keys(readProvenance(text, { name: 'Ada L.', stage: 'Open' }))).toEqual(['name']);
  });

  it('lists the fields of a new entity that another side brought, beside the rest', () => {
    const text = provenanceAfterMerge(
      null,
      [
        { field: 'email', from: undefined, to: 'a@x', winner: 'a', rule: 'agreement' },
        { field: 'name', from: undefined, to: 'A', winner: 'a', rule: 'agreement' },
        { field: 'score', from: undefined, to: 3, winner: 'b', rule: 'first sync' },
      ],
      first,
      true,
    );
    const read = readProvenance(text, { email: 'a@x', name: 'A', score: 3 });
    expect(Object.fromEntries(Object.entries(read).map(([field, entry]) => [field, `${entry.rule} (${entry.side})`]))).toEqual({ email: 'agreement (a)', name: 'agreement (a)', score: 'first sync (b)' });
  });

  it('records a resolution: the side kept, or none for a typed value', () => {
    const kept = provenanceAfterResolution(created, { field: 'name', before: 'name 1', side: 'b', conflictId: 'c1', at: second.at });
    expect(readProvenance(kept, { name: 'B' }).name).toEqual({ side: 'b', runId: null, before: 'name 1', after: 'B', rule: 'manual resolution', at: second.at, conflictId: 'c1' });
    const typed = provenanceAfterResolution(kept, { field: 'name', before: 'B', side: null, conflictId: 'c2', at: second.at });
    expect(readProvenance(typed, { name: 'Agreed' }).name).toMatchObject({ side: null, before: 'B', after: 'Agreed', conflictId: 'c2' });
    expect(provenanceRunIds(typed)).toEqual(['run-1']);
  });

  it('reads what is not provenance as none', () => {
    for (const text of [null, '', 'not json', '[1,2]', '"text"', 'null', '42', '{"by":{},"fields":{}}', '{"by":[],"fields":{"x":[5]}}', '{"by":[],"fields":{"x":3}}']) {
      expect(readProvenance(text, { x: 1 })).toEqual({});
    }
  });
});
