/**
 * Where did this value come from? (issue 15): the provenance a pass keeps per entity and field — the side, the run, the
 * value before and after, the rule — through the real engine on memory sides, and what a person's resolution records.
 */
import { describe, expect, it } from 'vitest';
import { readProvenance } from '../../runtime/engine/provenance';
import type { FieldProvenance } from '../../runtime/engine/types';
import { memoryHarness } from './memory-flows';

type Harness = Awaited<ReturnType<typeof memoryHarness>>;

async function provenanceOf(h: Harness): Promise<Record<string, FieldProvenance>> {
  const rows = await h.db.selectFrom('entities').select(['golden', 'provenance']).where('flow_id', '=', h.flow.id).execute();
  expect(rows).toHaveLength(1);
  return readProvenance(rows[0]!.provenance, JSON.parse(rows[0]!.golden) as Record<string, unknown>);
}

describe('field provenance', () => {
  it('records the first sync from the side an entity came from, then the side and run of each later change', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const id = h.sides.a!.insert({ email: 'ada@example.com', name: 'Ada', stage: 'open' });
    const first = await h.pass();
    const created = await provenanceOf(h);
    expect(created.name).toMatchObject({ side: 'a', runId: first.runId, after: 'Ada', rule: 'first sync' });
    expect(created.name).not.toHaveProperty('before');
    expect(Object.keys(created).sort()).toEqual(['email', 'name', 'stage']);

    const bId = h.sides.b!.all()[0]!.id;
    h.sides.b!.update(bId, { name: 'Ada Lovelace' });
    const second = await h.pass();
    const changed = await provenanceOf(h);
    expect(changed.name).toMatchObject({ side: 'b', runId: second.runId, before: 'Ada', after: 'Ada Lovelace', rule: 'only change' });
    // Fields nobody changed keep where they came from.
    expect(changed.stage).toEqual(created.stage);

    // A pass that changes nothing leaves it as it is.
    await h.pass();
    expect(await provenanceOf(h)).toEqual(changed);
    expect(h.sides.a!.get(id)?.fields.name).toBe('Ada Lovelace');
  });

  it('names agreement, last-write-wins and a preferred side', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'], fields: { stage: { prefer: 'a' } } });
    const id = h.sides.a!.insert({ email: 'x@example.com', name: 'X', stage: 'open', score: 1 });
    await h.pass();
    const bId = h.sides.b!.all()[0]!.id;
    h.sides.a!.update(id, { name: 'from A', stage: 'won', score: 2 });
    h.sides.b!.update(bId, { name: 'from B', stage: 'lost', score: 2 }); // the later write
    const run = await h.pass();
    const provenance = await provenanceOf(h);
    expect(provenance.name).toMatchObject({ side: 'b', rule: 'latest write', before: 'X', after: 'from B', runId: run.runId });
    expect(provenance.stage).toMatchObject({ side: 'a', rule: 'prefer', before: 'open', after: 'won' });
    expect(provenance.score).toMatchObject({ side: 'a', rule: 'agreement', before: 1, after: 2 });
  });

  it('records a manual resolution: the side kept, or a value a person typed', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'], policy: 'manual' });
    const id = h.sides.a!.insert({ email: 'x@example.com', name: 'X' });
    await h.pass();
    const bId = h.sides.b!.all()[0]!.id;
    h.sides.a!.update(id, { name: 'A' });
    h.sides.b!.update(bId, { name: 'B' });
    await h.pass();
    // Held, nothing decided: the field still says where its value came from before.
    expect((await provenanceOf(h)).name).toMatchObject({ rule: 'first sync', after: 'X' });

    const [conflict] = await h.engine.listConflicts({ flowId: h.flow.id, status: 'open' });
    await h.engine.resolveConflict(conflict!.id, { side: 'b' });
    const resolved = await provenanceOf(h);
    expect(resolved.name).toMatchObject({ side: 'b', runId: null, before: 'X', after: 'B', rule: 'manual resolution', conflictId: conflict!.id });
    // The pass that writes it out keeps it: the golden record already holds the value.
    await h.pass();
    expect(h.sides.a!.get(id)?.fields.name).toBe('B');
    expect((await provenanceOf(h)).name).toEqual(resolved.name);

    h.sides.a!.update(id, { name: 'A again' });
    h.sides.b!.update(bId, { name: 'B again' });
    await h.pass();
    const [again] = await h.engine.listConflicts({ flowId: h.flow.id, status: 'open' });
    await h.engine.resolveConflict(again!.id, { value: 'Agreed' });
    expect((await provenanceOf(h)).name).toMatchObject({ side: null, before: 'B', after: 'Agreed', rule: 'manual resolution', conflictId: again!.id });
  });

  it('keeps nothing in a dry run', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    h.sides.a!.insert({ email: 'x@example.com', name: 'X' });
    await h.pass();
    const before = await provenanceOf(h);
    h.sides.a!.update(h.sides.a!.all()[0]!.id, { name: 'Y' });
    await h.pass({ dryRun: true });
    expect(await provenanceOf(h)).toEqual(before);
  });
});
