/**
 * The record inspector's API (issue 15, "Where did this value come from?"): GET /api/flows/:id/entities/:entityId
 * explains one linked record — each field's value with the side, run, value before and rule that set it, each side's
 * record, name and shadow, its open conflicts and its newest log lines — and the dry run and run log say why a
 * change was not carried.
 */
import Sqlite from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntityInspectionView } from '../../runtime/api/schemas';
import { expectError } from '../support/httpErrors';
import { addContact, auth, polledPeopleFlow, testRuntime, upsertPerson, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => t?.close());

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  const answered = await response;
  if (answered.status !== 200) throw new Error(`${answered.status} ${await answered.text()}`);
  return (await answered.json()) as T;
}

const run = async (flowId = 'people') => json<{ runId: string; summary: Record<string, number> }>(t.post(`/api/flows/${flowId}/run`));
const runLog = async (runId: string) =>
  json<{ run: { startedAt: string }; log: Array<{ outcome: string; nodeId: string; recordId: string | null; entityId: string | null; recordName: string | null; message: string | null }> }>(
    t.request(`/api/runs/${runId}`, { headers: auth }),
  );
const inspect = (entityId: string, flowId = 'people') => json<EntityInspectionView>(t.request(`/api/flows/${flowId}/entities/${entityId}`, { headers: auth }));
const field = (view: EntityInspectionView, name: string) => view.fields.find((each) => each.field === name);

describe('the record inspector', () => {
  it('says which side and run set each field, the value before and the rule, with each side’s record and its log', async () => {
    t = await testRuntime();
    const ada = upsertPerson(t.dir, { name: 'Ada', email: 'ada@example.com' });
    await t.post('/api/flows', polledPeopleFlow());
    const first = await run();
    const created = (await runLog(first.runId)).log.find((line) => line.outcome === 'created')!;
    const entityId = created.entityId!;

    const synced = await inspect(entityId);
    // Named as everywhere: the first of name, title, subject, email its golden record holds.
    expect(synced).toMatchObject({ flowId: 'people', entityId, recordName: 'ada@example.com', deleted: false, quarantined: false, conflicts: [] });
    expect(field(synced, 'full_name')).toEqual({
      field: 'full_name',
      value: 'Ada',
      provenance: { side: 'a', runId: first.runId, runStartedAt: (await runLog(first.runId)).run.startedAt, before: null, after: 'Ada', rule: 'first sync', at: expect.any(String), conflictId: null },
    });
    expect(synced.sides).toEqual([
      { nodeId: 'a', recordId: String(ada), recordName: 'ada@example.com', gone: false, shadow: { full_name: 'Ada', email: 'ada@example.com' } },
      { nodeId: 'b', recordId: created.recordId, recordName: 'ada@example.com', gone: false, shadow: { full_name: 'Ada', email: 'ada@example.com' } },
    ]);
    expect(synced.log.map((line) => [line.outcome, line.nodeId, line.runId])).toEqual([['created', 'b', first.runId]]);

    upsertPerson(t.dir, { id: ada, name: 'Ada Lovelace', email: 'ada@example.com' });
    const second = await run();
    const changed = await inspect(entityId);
    expect(field(changed, 'full_name')?.provenance).toMatchObject({ side: 'a', runId: second.runId, before: 'Ada', after: 'Ada Lovelace', rule: 'only change' });
    expect(field(changed, 'email')?.provenance).toMatchObject({ runId: first.runId, rule: 'first sync' });
    // Newest first: the update, the echo of the first pass's create on b, the create.
    expect(changed.log.map((line) => [line.outcome, line.runId])).toEqual([
      ['updated', second.runId],
      ['echo', second.runId],
      ['created', first.runId],
    ]);
  });

  it('shows a field waiting on a conflict, and after the resolution who decided it', async () => {
    t = await testRuntime();
    const ada = upsertPerson(t.dir, { name: 'Ada', email: 'ada@example.com' });
    await t.post('/api/flows', polledPeopleFlow({ namePolicy: 'manual' }));
    const first = await run();
    const entityId = (await runLog(first.runId)).log.find((line) => line.outcome === 'created')!.entityId!;
    upsertPerson(t.dir, { id: ada, name: 'Ada from A', email: 'ada@example.com' });
    const contact = (await inspect(entityId)).sides.find((side) => side.nodeId === 'b')!.recordId!;
    const b = new Sqlite(join(t.dir, 'b.db'));
    b.prepare('UPDATE contacts SET full_name = ?, modified_at = ? WHERE id = ?').run('Ada from B', new Date().toISOString(), Number(contact));
    b.close();
    await run();

    const waiting = await inspect(entityId);
    expect(waiting.conflicts).toEqual([expect.objectContaining({ kind: 'field', field: 'full_name', base: 'Ada', sides: { a: 'Ada from A', b: 'Ada from B' } })]);
    expect(field(waiting, 'full_name')?.provenance?.rule).toBe('first sync');

    const resolved = await t.post(`/api/conflicts/${waiting.conflicts[0]!.id}/resolve`, { side: 'b' });
    expect(resolved.status).toBe(200);
    const decided = await inspect(entityId);
    expect(decided.conflicts).toEqual([]);
    expect(field(decided, 'full_name')).toMatchObject({
      value: 'Ada from B',
      provenance: { side: 'b', runId: null, runStartedAt: null, before: 'Ada', after: 'Ada from B', rule: 'manual resolution', conflictId: waiting.conflicts[0]!.id },
    });
  });

  it('answers 404 for an unknown flow, an unknown record and a record of another flow', async () => {
    t = await testRuntime();
    upsertPerson(t.dir, { name: 'Ada', email: 'ada@example.com' });
    await t.post('/api/flows', polledPeopleFlow());
    await t.post('/api/flows', polledPeopleFlow({ id: 'other' }));
    const entityId = (await runLog((await run()).runId)).log.find((line) => line.entityId)!.entityId!;
    await expectError(await t.request(`/api/flows/ghost/entities/${entityId}`, { headers: auth }), 404, 'not_found', { message: /no flow "ghost"/, path: 'id' });
    await expectError(await t.request('/api/flows/people/entities/nobody', { headers: auth }), 404, 'not_found', { message: /no record "nobody" in flow "people"/, path: 'entityId' });
    await expectError(await t.request(`/api/flows/other/entities/${entityId}`, { headers: auth }), 404, 'not_found', { path: 'entityId' });
    expect((await t.request(`/api/flows/people/entities/${entityId}`)).status).toBe(401);
  });

  it('tells in the dry run and the run log why a record is not created where creates are off', async () => {
    t = await testRuntime();
    const flow = polledPeopleFlow() as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    flow.nodes.find((node) => node.id === 'a')!.config.write = { create: false, update: true, delete: true };
    await t.post('/api/flows', flow);
    addContact(t.dir, { full_name: 'Only in B', email: 'b@example.com' });
    const reason = 'not created in "a": "Create records" is off for that trigger';

    const plan = await json<{ sides: Array<{ nodeId: string; skipped: unknown[] }> }>(t.post('/api/flows/people/dry-run'));
    expect(plan.sides.find((side) => side.nodeId === 'b')?.skipped).toEqual([{ id: '1', recordName: null, reason }]);

    const done = await run();
    expect(done.summary.created).toBe(0);
    const skipped = (await runLog(done.runId)).log.filter((line) => line.outcome === 'skipped');
    expect(skipped).toEqual([expect.objectContaining({ nodeId: 'b', recordId: '1', recordName: 'b@example.com', message: reason })]);
    // The record the flow keeps is inspectable: linked on b, with no record on a.
    const view = await inspect(skipped[0]!.entityId!);
    expect(view.sides.map((side) => [side.nodeId, side.recordId])).toEqual([
      ['a', null],
      ['b', '1'],
    ]);
    // Once linked and known, a dry run of the same change names it.
    addContact(t.dir, { full_name: 'Also only in B', email: 'b2@example.com' });
    const again = await json<{ sides: Array<{ nodeId: string; skipped: Array<{ id: string; recordName: string | null }> }> }>(t.post('/api/flows/people/dry-run'));
    expect(again.sides.find((side) => side.nodeId === 'b')?.skipped.map((skip) => skip.id)).toEqual(['2']);
  });
});
