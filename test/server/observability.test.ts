import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectError } from '../support/httpErrors';
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

describe('alert webhooks', () => {
  const setAlert = (url: string) => t.request('/api/flows/people/alert', { method: 'PUT', headers: jsonHeaders, body: JSON.stringify({ url }) });

  it('refuses a URL the host policy would refuse at every delivery, with 422 access_refused, storing nothing', async () => {
    t = await testRuntime();
    await t.post('/api/flows', polledPeopleFlow());
    const before = await t.snapshot();
    await expectError(await setAlert('http://10.1.2.3/hook'), 422, 'access_refused', { message: /^alerts could not be delivered to this URL: 10\.1\.2\.3:80: .*--allow-hosts 10\.1\.2\.3:80/, path: 'url' });
    await expectError(await setAlert('http://169.254.169.254/latest/meta-data'), 422, 'access_refused', /cloud metadata/);
    await expectError(await setAlert('https://[::1]/hook'), 422, 'access_refused', /\[::1\]:443/);
    await expectError(await setAlert('http://2130706433:9/hook'), 422, 'access_refused', /127\.0\.0\.1:9/);
    // A name is judged by the addresses it resolves to, as at delivery.
    await expectError(await setAlert('http://localhost:9/hook'), 422, 'access_refused', /localhost:9: the name resolves to a loopback or private address/);
    expect(await t.snapshot()).toBe(before);
    expect(await (await t.request('/api/flows/people/alert', { headers: auth })).json()).toEqual({ url: null, lastError: null });
  });

  it('takes a private URL the operator allowed', async () => {
    t = await testRuntime({ allowHosts: ['10.1.2.3'] });
    await t.post('/api/flows', polledPeopleFlow());
    expect(await (await setAlert('http://10.1.2.3/hook')).json()).toEqual({ url: 'http://10.1.2.3/hook', lastError: null });
  });

  it('shows why the last delivery failed, until one gets through', async () => {
    let answer = 500;
    const receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(answer).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      // The runtime's own sender, under the test's host policy, rather than the one that only records notices.
      t = await testRuntime({ allowHosts: ['127.0.0.1'], alertSender: undefined });
      await t.post('/api/flows', polledPeopleFlow());
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alert`;
      expect(await (await setAlert(url)).json()).toEqual({ url, lastError: null });
      rmSync(join(t.dir, 'b.db'));
      const failAPass = async () => {
        expect(((await (await t.post('/api/flows/people/run')).json()) as { status: string }).status).toBe('failed');
        await t.runtime.alerts.settle();
        return (await t.request('/api/flows/people/alert', { headers: auth })).json();
      };
      expect(await failAPass()).toEqual({ url, lastError: { at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), message: 'alert webhook answered 500' } });
      answer = 200;
      expect(await failAPass()).toEqual({ url, lastError: null });
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

describe('bodies that are not JSON', () => {
  it('are answered alike on every route that takes JSON: invalid_json, saying where it broke', async () => {
    t = await testRuntime();
    await t.post('/api/flows', polledPeopleFlow());
    const document = (await (await t.request('/api/openapi.json', { headers: auth })).json()) as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
    // Webhook senders get the webhook contract's own answers (docs/api.md, Webhooks).
    const routes = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, methods]) => Object.entries(methods).filter(([, operation]) => operation.requestBody !== undefined).map(([method]) => ({ method, path: path.replace(/\{[^}]+\}/g, 'people') })));
    expect(routes.map((route) => route.path)).toEqual(expect.arrayContaining(['/api/conflicts/people/resolve', '/api/credentials', '/api/flows/people/alert', '/api/flows']));
    for (const { method, path } of routes) {
      const answer = await t.request(path, { method: method.toUpperCase(), headers: jsonHeaders, body: '{"a":1,}' });
      expect({ route: `${method} ${path}`, status: answer.status, error: ((await answer.json()) as { error: unknown }).error }).toEqual({
        route: `${method} ${path}`,
        status: 400,
        error: { code: 'invalid_json', message: 'the body is not valid JSON: Expected double-quoted property name in JSON at position 7', path: '' },
      });
    }
  });

  it('names what a credential lacks in plain words', async () => {
    t = await testRuntime();
    await expectError(await t.post('/api/credentials', { name: 'crm', type: 'token' }), 400, 'invalid_body', {
      message: /^value: is required: the secret as a string for a token .*\{"username","password"\} for basic/,
      path: 'value',
    });
  });
});
