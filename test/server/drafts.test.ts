import Sqlite from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeFlow } from '../../nodes/flow/jsonText';
import { auth, contacts, jsonHeaders, polledPeopleFlow, testRuntime, upsertPerson, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => t?.close());

const get = async <T>(path: string): Promise<T> => (await (await t.request(path, { headers: auth })).json()) as T;
const put = (path: string, body: unknown) => t.request(path, { method: 'PUT', headers: jsonHeaders, body: typeof body === 'string' ? body : JSON.stringify(body) });

interface OverviewFlow {
  id: string;
  name: string;
  stored: boolean;
  deployed: boolean;
  version: { version: number } | null;
  draft: { changed: boolean } | null;
  health: { lastRun: { status: string } | null; synced: number; changesLastHour: number; failing: number; openConflicts: number } | null;
}
const overview = async () => (await get<{ flows: OverviewFlow[] }>('/api/overview')).flows;

function renameContact(id: number, fullName: string) {
  const b = new Sqlite(join(t.dir, 'b.db'));
  b.prepare('UPDATE contacts SET full_name = ?, modified_at = ? WHERE id = ?').run(fullName, new Date().toISOString(), id);
  b.close();
}

describe('drafts and deployed versions', () => {
  it('keeps a half-built draft of a new flow, under its own id only', async () => {
    t = await testRuntime();
    const halfBuilt = { format: 'syncline.flow', version: 1, id: 'sketch', name: 'A sketch', nodes: [{ id: 'crm', type: 'trigger', config: {} }], edges: [] };
    const saved = await put('/api/flows/sketch/draft', halfBuilt);
    expect(saved.status).toBe(200);
    expect(await saved.json()).toEqual({ id: 'sketch', savedAt: expect.any(String) });

    const state = await get<{ deployed: boolean; stored: unknown; draft: { document: unknown }; version: unknown }>('/api/flows/sketch/draft');
    expect(state).toMatchObject({ deployed: false, stored: null, version: null, draft: { document: halfBuilt } });
    expect(await overview()).toEqual([
      { id: 'sketch', name: 'A sketch', stored: false, deployed: false, version: null, draft: { savedAt: expect.any(String), changed: true }, health: null },
    ]);
    // A draft is not a flow: nothing runs, and the flow API does not know it.
    expect((await t.request('/api/flows/sketch', { headers: auth })).status).toBe(404);

    const before = await t.snapshot();
    expect((await put('/api/flows/sketch/draft', { ...halfBuilt, id: 'other' })).status).toBe(422);
    expect((await put('/api/flows/has%20space/draft', { ...halfBuilt, id: 'has space' })).status).toBe(422);
    expect((await put('/api/flows/sketch/draft', '[1, 2]')).status).toBe(400);
    expect((await put('/api/flows/sketch/draft', '{"id": ')).status).toBe(400);
    expect(await t.snapshot()).toBe(before);
    expect((await get<{ draft: { document: unknown } }>('/api/flows/sketch/draft')).draft.document).toEqual(halfBuilt);

    expect((await t.request('/api/flows/sketch/draft', { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await t.request('/api/flows/sketch/draft', { headers: auth })).status).toBe(404);
    expect(await overview()).toEqual([]);
  });

  it('leaves the deployed flow running while its draft changes, and versions each deploy', async () => {
    t = await testRuntime();
    const flow = polledPeopleFlow();
    await t.post('/api/flows', flow);
    expect((await overview())[0]).toMatchObject({ id: 'people', stored: true, deployed: false, version: null, draft: null });
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    expect((await overview())[0]).toMatchObject({ deployed: true, version: { version: 1 }, draft: null });

    const edited = { ...flow, name: 'People, edited' };
    await put('/api/flows/people/draft', edited);
    expect((await overview())[0]).toMatchObject({ name: 'People, edited', deployed: true, version: { version: 1 }, draft: { changed: true } });
    // The stored flow, what runs, is still the deployed one.
    expect(await (await t.request('/api/flows/people', { headers: auth })).text()).toBe(serializeFlow(flow));
    const state = await get<{ stored: unknown; draft: { document: unknown }; version: { version: number; document: unknown } }>('/api/flows/people/draft');
    expect(state.stored).toEqual(flow);
    expect(state.version).toMatchObject({ version: 1, document: flow });
    expect(state.draft.document).toEqual(edited);

    // A draft equal to what is deployed is no change.
    await put('/api/flows/people/draft', flow);
    expect((await overview())[0]!.draft).toEqual({ savedAt: expect.any(String), changed: false });

    // Deploying the edit: the editor replaces the stored flow and deploys; the draft it came from is done with.
    await put('/api/flows/people/draft', edited);
    expect((await put('/api/flows/people', edited)).status).toBe(200);
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    expect((await overview())[0]).toMatchObject({ version: { version: 2 }, draft: null });
    // Deploying the same document again is the same version; pausing keeps the versions.
    await t.post('/api/flows/people/pause');
    await t.post('/api/flows/people/deploy');
    await t.post('/api/flows/people/pause');
    expect((await overview())[0]).toMatchObject({ deployed: false, version: { version: 2 } });

    const versions = await get<Array<{ version: number; deployedAt: string }>>('/api/flows/people/versions');
    expect(versions.map((entry) => entry.version)).toEqual([2, 1]);
    expect(await get('/api/flows/people/versions/1')).toEqual({ version: 1, deployedAt: expect.any(String), document: flow });
    expect((await t.request('/api/flows/people/versions/9', { headers: auth })).status).toBe(404);
    expect((await t.request('/api/flows/people/versions/x', { headers: auth })).status).toBe(404);

    // Deleting the flow takes its draft and versions with it.
    await put('/api/flows/people/draft', { ...edited, name: 'Third' });
    expect((await t.request('/api/flows/people', { method: 'DELETE', headers: auth })).status).toBe(204);
    expect(await overview()).toEqual([]);
    expect(await t.db.selectFrom('flow_versions').selectAll().execute()).toEqual([]);
  });

  it('dry-runs a draft against the flow state without changing what is stored', async () => {
    t = await testRuntime();
    upsertPerson(t.dir, { name: 'Ada', email: 'ada@example.com' });
    const flow = polledPeopleFlow();
    await t.post('/api/flows', flow);
    // The draft no longer maps the name.
    const draft = structuredClone(flow) as { nodes: Array<{ id: string; config: { fields?: unknown[] } }> };
    const map = draft.nodes.find((node) => node.id === 'map')!;
    map.config.fields = map.config.fields!.slice(1);
    const planned = (await (await t.post('/api/flows/people/dry-run', draft)).json()) as { sides: Array<{ nodeId: string; creates: Array<{ fields: Array<{ field: string }> }> }> };
    expect(planned.sides.find((side) => side.nodeId === 'b')!.creates[0]!.fields.map((field) => field.field)).toEqual(['email']);
    const stored = (await (await t.post('/api/flows/people/dry-run')).json()) as typeof planned;
    expect(stored.sides.find((side) => side.nodeId === 'b')!.creates[0]!.fields.map((field) => field.field).sort()).toEqual(['email', 'full_name']);
    expect(contacts(t.dir)).toEqual([]);
    expect((await t.post('/api/flows/people/dry-run', { ...flow, id: 'other' })).status).toBe(422);
    expect((await t.post('/api/flows/people/dry-run', { ...flow, nodes: [] })).status).toBe(422);
  });
});

describe('what the editor shows of records and runs', () => {
  it('names a conflict and run rows by the display field, and counts the flow health', async () => {
    t = await testRuntime();
    const flow = polledPeopleFlow({ namePolicy: 'manual' });
    const id = upsertPerson(t.dir, { name: 'Ada', email: 'ada@example.com' });
    await t.post('/api/flows', flow);
    const first = (await (await t.post('/api/flows/people/run')).json()) as { runId: string };
    const contactId = contacts(t.dir)[0]!.id;
    upsertPerson(t.dir, { id, name: 'Ada L.', email: 'ada@example.com' });
    renameContact(contactId, 'Ada Lovelace');
    await t.post('/api/flows/people/run');

    // No display field: the golden record's first of name, title, subject, email.
    type Named = { recordName: string | null };
    const [conflict] = await get<Named[]>('/api/conflicts?flow=people');
    expect(conflict!.recordName).toBe('ada@example.com');
    const log = (await get<{ log: Array<Named & { outcome: string }> }>(`/api/runs/${first.runId}`)).log;
    expect(log.filter((entry) => entry.outcome === 'created').map((entry) => entry.recordName)).toEqual(['ada@example.com']);

    // Trigger a names its records by its own field `name`: the golden record projected out to a, which the last pass
    // left at its base value, since the name waits in the conflict.
    const named = structuredClone(flow) as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    named.nodes.find((node) => node.id === 'a')!.config.display = 'name';
    expect((await put('/api/flows/people', named)).status).toBe(200);
    expect((await get<Named[]>('/api/conflicts?flow=people'))[0]!.recordName).toBe('Ada');
    expect((await get<{ log: Named[] }>(`/api/runs/${first.runId}`)).log.map((entry) => entry.recordName)).toContain('Ada');

    const [people] = await overview();
    expect(people!.health).toEqual({ lastRun: { id: expect.any(String), status: 'ok', startedAt: expect.any(String), finishedAt: expect.any(String) }, synced: 1, changesLastHour: 1, failing: 0, openConflicts: 1 });
  });

  it('pages the run history with filters, older than a cursor', async () => {
    t = await testRuntime();
    await t.post('/api/flows', polledPeopleFlow());
    const ids: string[] = [];
    for (let pass = 0; pass < 7; pass += 1) {
      if (pass === 2 || pass === 5) upsertPerson(t.dir, { name: `P${pass}`, email: `p${pass}@example.com` });
      ids.push(((await (await t.post('/api/flows/people/run')).json()) as { runId: string }).runId);
    }
    type Run = { id: string; summary: { created: number } };
    const newestFirst = [...ids].reverse();
    expect((await get<Run[]>('/api/flows/people/runs')).map((run) => run.id)).toEqual(newestFirst);
    expect((await get<Run[]>('/api/flows/people/runs?filter=changes')).map((run) => run.id)).toEqual([ids[5], ids[2]]);
    const page = await get<Run[]>('/api/flows/people/runs?limit=3');
    expect(page.map((run) => run.id)).toEqual(newestFirst.slice(0, 3));
    const next = await get<Run[]>(`/api/flows/people/runs?limit=3&before=${page[2]!.id}`);
    expect(next.map((run) => run.id)).toEqual(newestFirst.slice(3, 6));
    expect((await get<Run[]>(`/api/flows/people/runs?filter=changes&before=${ids[5]}`)).map((run) => run.id)).toEqual([ids[2]]);
    expect(await get<Run[]>('/api/flows/people/runs?filter=failed')).toEqual([]);
    expect((await t.request('/api/flows/people/runs?filter=loud', { headers: auth })).status).toBe(400);
    expect((await t.request('/api/flows/people/runs?before=nope', { headers: auth })).status).toBe(400);
  });
});
