import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../../runtime/observability/logger';
import { auth, jsonHeaders, testRuntime, type TestRuntime } from './support';
import { expectError } from '../support/httpErrors';

let t: TestRuntime;
afterEach(async () => t?.close());

const SECRET_VALUE = 'postgres://admin:hunter2-very-secret@db.example/crm';

describe('credentials', () => {
  it('stores values encrypted, lists names and types only, and never logs or returns a value', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    t = await testRuntime({ logger: createLogger({ level: 'debug', destination }) });
    const created = await t.post('/api/credentials', { name: 'crm-db', type: 'postgres-url', value: SECRET_VALUE });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ name: 'crm-db', type: 'postgres-url' });

    const listed = await t.request('/api/credentials', { headers: auth });
    const text = await listed.text();
    expect(JSON.parse(text)).toEqual([{ name: 'crm-db', type: 'postgres-url', createdAt: expect.any(String) }]);
    expect(text).not.toContain('hunter2');

    const row = await t.db.selectFrom('credentials').selectAll().executeTakeFirstOrThrow();
    expect(row.value_encrypted).not.toContain('hunter2');
    expect(Buffer.from(row.value_encrypted, 'base64').toString('latin1')).not.toContain('hunter2');
    expect(await t.runtime.deps.credentials.resolve('crm-db')).toBe(SECRET_VALUE);

    const openapi = await (await t.request('/api/openapi.json', { headers: auth })).text();
    expect(openapi).not.toContain('hunter2');
    expect(lines.join('')).not.toContain('hunter2');

    expect((await t.request('/api/credentials/crm-db', { method: 'DELETE', headers: auth })).status).toBe(204);
    expect(await (await t.request('/api/credentials', { headers: auth })).json()).toEqual([]);
    await expect(t.runtime.deps.credentials.resolve('crm-db')).rejects.toThrow(/not stored/);
  });

  it('refuses bad bodies, duplicates and unknown names, changing nothing', async () => {
    t = await testRuntime();
    await t.post('/api/credentials', { name: 'taken', type: 'webhook-secret', value: 's' });
    const before = await t.snapshot();
    const post = (body: string, headers: Record<string, string> = jsonHeaders) => t.request('/api/credentials', { method: 'POST', headers, body });
    await expectError(await post('{"name":"taken","type":"x","value":"other"}'), 409, 'credential_exists', { path: 'name' });
    await expectError(await post('{"name":"","type":"x","value":"v"}'), 400, 'invalid_body', { path: 'name' });
    await expectError(await post('{"name":"has space","type":"x","value":"v"}'), 400, 'invalid_body', { path: 'name' });
    await expectError(await post('{"name":"n","type":5,"value":"v"}'), 400, 'invalid_body', { path: 'type' });
    await expectError(await post('{"name":"n","type":"x","value":{"a":1}}'), 400, 'invalid_body', { path: 'value' });
    await expectError(await post('{"name":"n","type":"x"}'), 400, 'invalid_body', { path: 'value' });
    await expectError(await post('{"name":"n","type":"x","value":"v","extra":true}'), 400, 'invalid_body');
    await expectError(await post('[]'), 400, 'invalid_body');
    await expectError(await post('{"name":'), 400, 'invalid_json', /not valid JSON/);
    await expectError(await post('name=n&type=x&value=v', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    await expectError(await t.request('/api/credentials/nope', { method: 'DELETE', headers: auth }), 404, 'not_found', { path: 'name' });
    expect(await t.snapshot()).toBe(before);
  });
});
