import { afterEach, describe, expect, it } from 'vitest';
import { auth, testRuntime, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => t?.close());

type ErrorBody = { error: { code: string; message: string; path: string } };

async function expectError(response: Response, status: number, code: string, message?: RegExp): Promise<void> {
  const body = (await response.json()) as ErrorBody;
  expect({ status: response.status, code: body.error?.code }).toEqual({ status, code });
  if (message) expect(body.error.message).toMatch(message);
}

describe('connectors', () => {
  it('lists connector types', async () => {
    t = await testRuntime();
    const list = (await (await t.request('/api/connectors', { headers: auth })).json()) as Array<{ type: string; title: string }>;
    expect(list).toContainEqual({ type: 'sqlite', title: expect.any(String) });
  });

  it('describes a connection: its collections and their fields', async () => {
    t = await testRuntime();
    const response = await t.post('/api/connectors/describe', { connector: 'sqlite', connection: { file: 'a.db' }, collection: 'people' });
    expect(response.status).toBe(200);
    const { collections } = (await response.json()) as { collections: Array<{ name: string; fields: Array<{ name: string; type: string; nullable: boolean }> }> };
    const people = collections.find((collection) => collection.name === 'people')!;
    expect(people.fields.map((field) => field.name)).toEqual(expect.arrayContaining(['name', 'email']));
  });

  it('refuses unknown connectors, bad connections and unreachable ones with 4xx', async () => {
    t = await testRuntime();
    const before = await t.snapshot();
    const describe = (body: unknown) => t.post('/api/connectors/describe', body);
    await expectError(await describe({ connector: 'oracle', connection: {} }), 422, 'unknown_connector', /sqlite/);
    await expectError(await describe({ connector: 'sqlite', connection: {} }), 422, 'invalid_connection', /connection\.file/);
    await expectError(await describe({ connector: 'sqlite', connection: { file: 'missing.db' } }), 422, 'connection_failed', /not found/);
    await expectError(await describe({ connector: 'sqlite' }), 400, 'invalid_body', /connection/);
    await expectError(await describe({ connector: 5, connection: {} }), 400, 'invalid_body', /connector/);
    await expectError(await describe({ connector: 'sqlite', connection: 'a.db' }), 400, 'invalid_body');
    await expectError(await t.request('/api/connectors/describe', { method: 'POST', headers: auth, body: '{}' }), 415, 'unsupported_media_type');
    expect(await t.snapshot()).toBe(before);
  });
});
