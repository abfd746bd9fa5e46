import { afterEach, describe, expect, it } from 'vitest';
import { auth, jsonHeaders, polledPeopleFlow, testRuntime, upsertPerson, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => t?.close());

describe('metrics and the OpenAPI document', () => {
  it('counts records synced, echoes, conflicts, failures and pass durations', async () => {
    t = await testRuntime();
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    await t.post('/api/flows', polledPeopleFlow());
    await t.post('/api/flows/people/run');
    const text = await (await t.request('/metrics', { headers: auth })).text();
    expect(text).toContain('syncline_records_synced_total{flow="people",op="created"} 1');
    expect(text).toMatch(/# TYPE syncline_echoes_dropped_total counter/);
    expect(text).toMatch(/# TYPE syncline_conflicts_total counter/);
    expect(text).toMatch(/# TYPE syncline_record_failures_total counter/);
    expect(text).toMatch(/syncline_pass_duration_seconds_count\{flow="people",reason="manual"\} 1/);
    expect(text).toMatch(/syncline_passes_total\{flow="people",reason="manual",status="ok"\} 1/);
  });

  it('documents every route the app serves, generated from the zod schemas', async () => {
    t = await testRuntime();
    const response = await t.request('/api/openapi.json', { headers: auth });
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>> };
    expect(document.openapi).toBe('3.1.0');
    // Everything but the editor's files and page, which are not API.
    const served = new Set(
      t.runtime.app.routes
        .filter((route) => route.method !== 'ALL' && !route.path.includes('*') && route.path !== '/')
        .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`),
    );
    const documented = new Set(Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`)));
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
    expect([...documented].filter((route) => !served.has(route))).toEqual([]);
    expect(Object.keys(document.paths['/api/credentials']!.post!.requestBody!.content['application/json']!.schema.properties!)).toEqual(['name', 'type', 'value']);
  });

  it('answers JSON errors for unknown routes and methods', async () => {
    t = await testRuntime();
    const unknown = await t.request('/api/nothing-here', { headers: auth });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: expect.stringMatching(/nothing-here/), path: '' } });
    expect((await t.request('/api/flows', { method: 'PATCH', headers: jsonHeaders, body: '{}' })).status).toBe(404);
  });
});
