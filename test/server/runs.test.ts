import Sqlite from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addContact, auth, contacts, jsonHeaders, polledPeopleFlow, setAlertUrl, testRuntime, upsertPerson, type TestRuntime } from './support';
import { expectError } from '../support/httpErrors';

let t: TestRuntime;
afterEach(async () => t?.close());

describe('runs', () => {
  it('dry-runs without writing, then runs a pass and keeps its history and per-record log', async () => {
    t = await testRuntime();
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    upsertPerson(t.dir, { name: 'Alan Turing', email: 'alan@example.com' });
    await t.post('/api/flows', polledPeopleFlow());

    const dry = await t.post('/api/flows/people/dry-run');
    expect(dry.status).toBe(200);
    const plan = (await dry.json()) as { summary: { created: number }; sides: Array<{ nodeId: string; creates: Array<{ fields: Array<{ field: string; after: unknown }> }> }> };
    expect(plan.summary.created).toBe(2);
    const side = plan.sides.find((entry) => entry.nodeId === 'b')!;
    expect(side.creates).toHaveLength(2);
    expect(side.creates[0]!.fields).toContainEqual(expect.objectContaining({ field: 'full_name', after: 'Ada Lovelace' }));
    expect(contacts(t.dir)).toEqual([]);

    const run = await t.post('/api/flows/people/run');
    const result = (await run.json()) as { runId: string; status: string; summary: Record<string, number> };
    expect(result.status).toBe('ok');
    expect(result.summary).toEqual({ created: 2, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    expect(contacts(t.dir).map((contact) => contact.full_name)).toEqual(['Ada Lovelace', 'Alan Turing']);

    const runs = (await (await t.request('/api/flows/people/runs', { headers: auth })).json()) as Array<{ id: string; status: string; reason: string }>;
    expect(runs[0]).toMatchObject({ id: result.runId, status: 'ok', reason: 'manual' });
    const detail = (await (await t.request(`/api/runs/${result.runId}`, { headers: auth })).json()) as { run: { id: string }; log: Array<{ outcome: string; fields: unknown[] }> };
    expect(detail.run.id).toBe(result.runId);
    expect(detail.log.filter((entry) => entry.outcome === 'created')).toHaveLength(2);
    expect(detail.log.find((entry) => entry.outcome === 'created')!.fields.length).toBeGreaterThan(0);
    expect((await (await t.request('/api/flows/people/runs?limit=1', { headers: auth })).json()) as unknown[]).toHaveLength(1);

    const status = (await (await t.request('/api/flows/people/status', { headers: auth })).json()) as { nodes: Record<string, { lastPassAt: string | null; synced: number }> };
    expect(status.nodes.a!.synced).toBe(2);
    expect(status.nodes.b!.synced).toBe(2);
    expect(status.nodes.a!.lastPassAt).not.toBeNull();
  });

  it('answers 4xx for unknown ids and bad queries, changing nothing', async () => {
    t = await testRuntime();
    await t.post('/api/flows', polledPeopleFlow());
    const before = await t.snapshot();
    await expectError(await t.post('/api/flows/ghost/run'), 404, 'not_found', /ghost/);
    await expectError(await t.post('/api/flows/ghost/dry-run'), 404, 'not_found');
    await expectError(await t.request('/api/flows/ghost/runs', { headers: auth }), 404, 'not_found');
    await expectError(await t.request('/api/runs/nope', { headers: auth }), 404, 'not_found', /nope/);
    await expectError(await t.request('/api/flows/people/runs?limit=abc', { headers: auth }), 400, 'invalid_query', /limit/);
    await expectError(await t.request('/api/flows/people/runs?limit=0', { headers: auth }), 400, 'invalid_query');
    await expectError(await t.request('/api/flows/people/runs?limit=5&x=1', { headers: auth }), 400, 'invalid_query');
    await expectError(await t.request('/api/flows/ghost/failing', { headers: auth }), 404, 'not_found');
    await expectError(await t.post('/api/flows/ghost/failing/retry'), 404, 'not_found');
    expect(await t.snapshot()).toBe(before);
  });

  it('reports a pass that cannot run as failed, and alerts', async () => {
    t = await testRuntime();
    await t.post('/api/flows', polledPeopleFlow());
    await setAlertUrl(t);
    rmSync(join(t.dir, 'b.db'));
    const result = (await (await t.post('/api/flows/people/run')).json()) as { status: string; error: string };
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/b\.db/);
    await t.runtime.alerts.settle();
    expect(t.alerts).toEqual([expect.objectContaining({ kind: 'pass_failed', flowId: 'people', message: expect.stringMatching(/failed/) })]);
  });

  it('lists failing records and retries them', async () => {
    t = await testRuntime();
    // A column the flow never fills, so every create on b fails until the table is fixed.
    const b = new Sqlite(join(t.dir, 'b.db'));
    b.exec('DROP TABLE contacts; CREATE TABLE contacts (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, company TEXT NOT NULL, modified_at TEXT NOT NULL)');
    b.close();
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    await t.post('/api/flows', polledPeopleFlow());
    expect(await (await t.request('/api/flows/people/failing', { headers: auth })).json()).toEqual([]);
    const run = (await (await t.post('/api/flows/people/run')).json()) as { status: string; summary: { failed: number } };
    expect(run.summary.failed).toBe(1);
    const failing = (await (await t.request('/api/flows/people/failing', { headers: auth })).json()) as Array<{ nodeId: string; error: string }>;
    expect(failing).toEqual([expect.objectContaining({ nodeId: 'b', error: expect.stringMatching(/company|NOT NULL/i) })]);
    const retry = await t.post('/api/flows/people/failing/retry');
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ok: true });
  });
});

describe('conflicts', () => {
  async function withConflict(): Promise<{ id: string; sides: Record<string, unknown> }> {
    upsertPerson(t.dir, { name: 'Grace Hopper', email: 'grace@example.com' });
    addContact(t.dir, { full_name: 'Grace B. Hopper', email: 'GRACE@example.com' });
    await t.post('/api/flows', polledPeopleFlow({ namePolicy: 'manual' }));
    await setAlertUrl(t);
    const run = (await (await t.post('/api/flows/people/run')).json()) as { summary: { conflicts: number } };
    expect(run.summary.conflicts).toBe(1);
    const list = (await (await t.request('/api/conflicts?flow=people', { headers: auth })).json()) as Array<{ id: string; field: string; sides: Record<string, unknown> }>;
    expect(list).toHaveLength(1);
    expect(list[0]!.field).toBe('full_name');
    return list[0]!;
  }

  it('lists a conflict with each side’s value, files an alert, and resolves it by side', async () => {
    t = await testRuntime();
    const conflict = await withConflict();
    expect(conflict.sides).toEqual({ a: 'Grace Hopper', b: 'Grace B. Hopper' });
    await t.runtime.alerts.settle();
    expect(t.alerts.map((alert) => alert.kind)).toEqual(['conflicts_filed']);

    const resolved = await t.post(`/api/conflicts/${conflict.id}/resolve`, { side: 'a' });
    expect(resolved.status).toBe(200);
    expect(await resolved.json()).toMatchObject({ id: conflict.id, status: 'resolved', resolution: { side: 'a' } });
    expect(await (await t.request('/api/conflicts?flow=people', { headers: auth })).json()).toEqual([]);
    const all = (await (await t.request('/api/conflicts?flow=people&status=all', { headers: auth })).json()) as unknown[];
    expect(all).toHaveLength(1);

    await t.post('/api/flows/people/run');
    expect(contacts(t.dir).map((contact) => contact.full_name)).toEqual(['Grace Hopper']);
    await expectError(await t.post(`/api/conflicts/${conflict.id}/resolve`, { side: 'a' }), 409, 'already_resolved');
  });

  it('resolves with a value', async () => {
    t = await testRuntime();
    const conflict = await withConflict();
    expect((await t.post(`/api/conflicts/${conflict.id}/resolve`, { value: 'Rear Admiral Grace Hopper' })).status).toBe(200);
    await t.post('/api/flows/people/run');
    expect(contacts(t.dir).map((contact) => contact.full_name)).toEqual(['Rear Admiral Grace Hopper']);
  });

  it('refuses bad resolutions, unknown ids and bad filters, changing nothing', async () => {
    t = await testRuntime();
    const conflict = await withConflict();
    const before = await t.snapshot();
    const resolve = (body: string, id = conflict.id, headers: Record<string, string> = jsonHeaders) =>
      t.request(`/api/conflicts/${id}/resolve`, { method: 'POST', headers, body });
    await expectError(await resolve('{}'), 400, 'invalid_body', /side|value/);
    await expectError(await resolve('{"side":5}'), 400, 'invalid_body');
    await expectError(await resolve('{"side":"a","value":1}'), 400, 'invalid_body');
    await expectError(await resolve('"a"'), 400, 'invalid_body');
    await expectError(await resolve('{"side":'), 400, 'invalid_json', /not valid JSON/);
    await expectError(await resolve('{"side":"a"}', conflict.id, auth), 415, 'unsupported_media_type');
    await expectError(await resolve('{"side":"nobody"}'), 422, 'unknown_side', /nobody/);
    await expectError(await resolve('{"side":"a"}', 'no-such-conflict'), 404, 'not_found');
    await expectError(await t.request('/api/conflicts?flow=ghost', { headers: auth }), 404, 'not_found');
    await expectError(await t.request('/api/conflicts?status=maybe', { headers: auth }), 400, 'invalid_query', /open/);
    expect(await t.snapshot()).toBe(before);
  });
});
