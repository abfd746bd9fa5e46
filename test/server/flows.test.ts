import { afterEach, describe, expect, it } from 'vitest';
import { serializeFlow } from '../../nodes/flow/jsonText';
import { ALERT_URL, auth, jsonHeaders, peopleFlow, SECRET, testRuntime, type TestRuntime } from './support';
import { expectError } from '../support/httpErrors';

let t: TestRuntime;
afterEach(async () => t?.close());

const put = (t: TestRuntime, path: string, body: string) => t.request(path, { method: 'PUT', headers: jsonHeaders, body });

describe('flows', () => {
  it('imports, lists, exports the exact bytes, replaces and removes a flow', async () => {
    t = await testRuntime();
    const flow = peopleFlow();
    const created = await t.post('/api/flows', flow);
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ id: 'people' });

    expect(await (await t.request('/api/flows', { headers: auth })).json()).toEqual([{ id: 'people', name: 'People: A <-> B', deployed: false }]);
    const exported = await t.request('/api/flows/people', { headers: auth });
    expect(exported.headers.get('content-type')).toMatch(/application\/json/);
    expect(await exported.text()).toBe(serializeFlow(flow));

    const renamed = { ...flow, name: 'Renamed' };
    const replaced = await put(t, '/api/flows/people', JSON.stringify(renamed));
    expect(replaced.status).toBe(200);
    expect(await (await t.request('/api/flows/people', { headers: auth })).text()).toBe(serializeFlow(renamed));

    const removed = await t.request('/api/flows/people', { method: 'DELETE', headers: auth });
    expect(removed.status).toBe(204);
    await expectError(await t.request('/api/flows/people', { headers: auth }), 404, 'not_found');
    expect(await (await t.request('/api/flows', { headers: auth })).json()).toEqual([]);
  });

  it('refuses bad documents with every problem and stores nothing', async () => {
    t = await testRuntime();
    const before = await t.snapshot();

    await expectError(await t.request('/api/flows', { method: 'POST', headers: jsonHeaders, body: '{"format":' }), 400, 'invalid_json', /not valid JSON/);
    await expectError(await t.request('/api/flows', { method: 'POST', headers: jsonHeaders, body: '' }), 400, 'invalid_json');
    await expectError(await t.post('/api/flows', [1, 2]), 422, 'invalid_flow');

    const broken = peopleFlow();
    const nodes = broken.nodes as Array<Record<string, unknown>>;
    (nodes[1]!.config as { fields: Array<Record<string, unknown>> }).fields[0]!.direction = 'sideways';
    nodes.splice(2, 1); // no conflict node
    const invalid = await expectError(await t.post('/api/flows', broken), 422, 'invalid_flow', /not valid/);
    expect(invalid.issues!.length).toBeGreaterThanOrEqual(2);
    expect(invalid.issues!.map((issue) => issue.path)).toContain('nodes[1].config.fields[0].direction');
    expect(invalid.error.path).toBe(invalid.issues![0]!.path);

    await expectError(await t.post('/api/flows', { ...peopleFlow(), version: 99 }), 422, 'invalid_flow', /newer/);
    await expectError(await t.post('/api/flows', { ...peopleFlow(), nodes: 'none' }), 422, 'invalid_flow');
    const unknownConnector = peopleFlow();
    ((unknownConnector.nodes as Array<{ config: Record<string, unknown> }>)[0]!.config).connector = 'oracle';
    await expectError(await t.post('/api/flows', unknownConnector), 422, 'invalid_flow', /oracle/);

    expect(await t.snapshot()).toBe(before);
  });

  it('takes flow ids of the documented pattern only, and node ids that fit in a webhook URL', async () => {
    t = await testRuntime();
    const before = await t.snapshot();
    // Each was once accepted with 201; "." and ".." could then never be fetched or removed, ":" breaks write tags.
    const badFlowIds = ['', '.', '..', 'a/b', 'a:b', 'a b', '-lead', '_lead', 'a\u0000b', '<script>alert(1)</script>', 'x'.repeat(5000), 'a'.repeat(65), 'lead\ud800', 'café'];
    for (const id of badFlowIds) {
      const refused = await expectError(await t.post('/api/flows', peopleFlow({ id })), 422, 'invalid_flow', /\^\[A-Za-z0-9\]\[A-Za-z0-9_-\]\{0,63\}\$/);
      expect(refused.error.path, JSON.stringify(id)).toBe('id');
      expect(refused.error.message).toMatch(/^the flow is not valid: id: must match \^\[A-Za-z0-9\]\[A-Za-z0-9_-\]\{0,63\}\$ \(1 to 64 letters, digits, "-" and "_", starting with a letter or digit\)/);
    }
    for (const nodeId of ['', '.', '..', 'a/b', 'a:b', '.hidden', 'b'.repeat(65)]) {
      const flow = peopleFlow() as { nodes: Array<{ id: string }>; edges: Array<{ source: string; target: string }> };
      flow.nodes[0]!.id = nodeId;
      flow.edges[0]!.source = nodeId;
      const refused = await expectError(await t.post('/api/flows', flow), 422, 'invalid_flow');
      expect(refused.issues!.find((issue) => issue.path === 'nodes[0].id')?.message, JSON.stringify(nodeId)).toMatch(/^must match \^\[A-Za-z0-9_\]\[A-Za-z0-9_.-\]\{0,63\}\$ \(1 to 64 /);
    }
    expect(await t.snapshot()).toBe(before);

    // The longest id, and the characters the pattern allows, work end to end: fetched, replaced, removed.
    for (const id of ['A'.repeat(64), 'leads_2-crm', '0']) {
      expect((await t.post('/api/flows', peopleFlow({ id }))).status).toBe(201);
      expect(await (await t.request(`/api/flows/${id}`, { headers: auth })).text()).toBe(serializeFlow(peopleFlow({ id })));
      expect((await put(t, `/api/flows/${id}`, JSON.stringify({ ...peopleFlow({ id }), name: 'Renamed' }))).status).toBe(200);
      expect((await t.request(`/api/flows/${id}`, { method: 'DELETE', headers: auth })).status).toBe(204);
    }
  });

  it('refuses a second flow with the same id', async () => {
    t = await testRuntime();
    expect((await t.post('/api/flows', peopleFlow())).status).toBe(201);
    const before = await t.snapshot();
    await expectError(await t.post('/api/flows', { ...peopleFlow(), name: 'Other' }), 409, 'flow_exists', /PUT/);
    expect(await t.snapshot()).toBe(before);
  });

  it('refuses a replacement that is invalid, has another id, or targets no flow', async () => {
    t = await testRuntime();
    await t.post('/api/flows', peopleFlow());
    const before = await t.snapshot();
    await expectError(await put(t, '/api/flows/people', JSON.stringify({ ...peopleFlow(), id: 'other' })), 422, 'id_mismatch', /other/);
    await expectError(await put(t, '/api/flows/people', JSON.stringify({ ...peopleFlow(), edges: [] })), 422, 'invalid_flow');
    await expectError(await put(t, '/api/flows/people', 'nope'), 400, 'invalid_json');
    await expectError(await put(t, '/api/flows/ghost', JSON.stringify(peopleFlow({ id: 'ghost' }))), 404, 'not_found', /ghost/);
    await expectError(await t.request('/api/flows/ghost', { method: 'DELETE', headers: auth }), 404, 'not_found');
    expect(await t.snapshot()).toBe(before);
  });

  it('refuses a body over the size limit with 413', async () => {
    t = await testRuntime();
    const before = await t.snapshot();
    const huge = JSON.stringify({ ...peopleFlow(), padding: 'x'.repeat(17 * 1024 * 1024) });
    await expectError(await t.request('/api/flows', { method: 'POST', headers: jsonHeaders, body: huge }), 413, 'payload_too_large');
    const big = JSON.stringify({ name: 'n', type: 't', value: 'x'.repeat(1024 * 1024 + 1) });
    await expectError(await t.request('/api/credentials', { method: 'POST', headers: jsonHeaders, body: big }), 413, 'payload_too_large');
    expect(await t.snapshot()).toBe(before);
  });

  it('deploys only when the credentials it names are stored, and pauses', async () => {
    t = await testRuntime();
    await t.post('/api/flows', peopleFlow());
    const before = await t.snapshot();
    const missing = await expectError(await t.post('/api/flows/people/deploy'), 409, 'missing_credential', /hook-secret/);
    expect(missing.error.path).toBe('nodes[0].config.detect.secret');
    await expectError(await t.post('/api/flows/ghost/deploy'), 404, 'not_found');
    await expectError(await t.post('/api/flows/ghost/pause'), 404, 'not_found');
    expect(await t.snapshot()).toBe(before);

    await t.post('/api/credentials', { name: 'hook-secret', type: 'webhook-secret', value: SECRET });
    const deployed = await t.post('/api/flows/people/deploy');
    expect(await deployed.json()).toEqual({ id: 'people', deployed: true });
    expect(await (await t.request('/api/flows', { headers: auth })).json()).toEqual([{ id: 'people', name: 'People: A <-> B', deployed: true }]);
    expect(await (await t.post('/api/flows/people/pause')).json()).toEqual({ id: 'people', deployed: false });
    const row = await t.db.selectFrom('flows').select('deployed').where('id', '=', 'people').executeTakeFirstOrThrow();
    expect(row.deployed).toBe(0);
  });

  it('sets and clears the alert webhook, refusing anything but an http(s) URL or null', async () => {
    t = await testRuntime();
    await t.post('/api/flows', peopleFlow());
    const set = (body: string, id = 'people') => t.request(`/api/flows/${id}/alert`, { method: 'PUT', headers: jsonHeaders, body });
    const before = await t.snapshot();
    await expectError(await set('{"url":"ftp://x"}'), 400, 'invalid_body', /http/);
    await expectError(await set('{"url":42}'), 400, 'invalid_body');
    await expectError(await set('{}'), 400, 'invalid_body');
    await expectError(await set('{"url":null,"extra":1}'), 400, 'invalid_body');
    await expectError(await set('{"url":'), 400, 'invalid_json', /not valid JSON/);
    await expectError(await set('{"url":null}', 'ghost'), 404, 'not_found');
    await expectError(await t.request('/api/flows/people/alert', { method: 'PUT', headers: auth, body: '{"url":null}' }), 415, 'unsupported_media_type');
    expect(await t.snapshot()).toBe(before);
    // A refused host: test/server/observability.test.ts.
    expect(await (await set(JSON.stringify({ url: ALERT_URL }))).json()).toEqual({ url: ALERT_URL, lastError: null });
    expect(await (await t.request('/api/flows/people/alert', { headers: auth })).json()).toEqual({ url: ALERT_URL, lastError: null });
    expect(await (await set('{"url":null}')).json()).toEqual({ url: null, lastError: null });
  });

  it('reports per-trigger status, 404 for an unknown flow', async () => {
    t = await testRuntime();
    await t.post('/api/flows', peopleFlow());
    const status = await (await t.request('/api/flows/people/status', { headers: auth })).json();
    const quiet = { lastPassAt: null, synced: 0, changesLastHour: 0, failing: 0, openConflicts: 0, problem: null, webhook: null };
    expect(status).toMatchObject({ nodes: { a: quiet, b: quiet }, conflictNodes: { resolve: { openConflicts: 0 } } });
    await expectError(await t.request('/api/flows/ghost/status', { headers: auth }), 404, 'not_found');
  });
});
