import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative as relativePath } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auth, testRuntime, type TestRuntime } from './support';
import { errorOf, expectError } from '../support/httpErrors';

let t: TestRuntime;
afterEach(async () => t?.close());

describe('connectors', () => {
  it('lists connector types', async () => {
    t = await testRuntime();
    const list = (await (await t.request('/api/connectors', { headers: auth })).json()) as Array<{ type: string; title: string }>;
    expect(list).toContainEqual(expect.objectContaining({ type: 'sqlite', title: expect.any(String) }));
  });

  it('describes a connection: its collections and their fields', async () => {
    t = await testRuntime();
    const response = await t.post('/api/connectors/describe', { connector: 'sqlite', connection: { file: 'a.db' }, collection: 'people' });
    expect(response.status).toBe(200);
    const { collections } = (await response.json()) as { collections: Array<{ name: string; fields: Array<{ name: string; type: string; nullable: boolean }> }> };
    const people = collections.find((collection) => collection.name === 'people')!;
    expect(people.fields.map((field) => field.name)).toEqual(expect.arrayContaining(['name', 'email']));
  });

  it('says which tables would give a deleted row\'s key to a new one, and what to do', async () => {
    t = await testRuntime();
    const safe = new Sqlite(join(t.dir, 'safe.db'));
    safe.exec('CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)');
    safe.close();
    const describe = async (file: string) =>
      ((await (await t.post('/api/connectors/describe', { connector: 'sqlite', connection: { file } })).json()) as { collections: Array<{ name: string; warnings?: string[] }> }).collections;
    expect(await describe('a.db')).toEqual([
      expect.objectContaining({ name: 'people', warnings: [expect.stringMatching(/^table "people": its key "id" is an INTEGER PRIMARY KEY without AUTOINCREMENT.*"id INTEGER PRIMARY KEY AUTOINCREMENT"/)] }),
    ]);
    expect((await describe('safe.db'))[0]).not.toHaveProperty('warnings');
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

describe('what describe may reach', () => {
  const describeFile = (file: string, extra: Record<string, unknown> = {}) => t.post('/api/connectors/describe', { connector: 'sqlite', connection: { file }, ...extra });

  /** A SQLite file outside the data folder, with a table a flow could write into. */
  function outsideDatabase(): { dir: string; path: string } {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-outside-'));
    const path = join(dir, 'other.db');
    const db = new Sqlite(path);
    db.exec('CREATE TABLE secrets (id INTEGER PRIMARY KEY, value TEXT)');
    db.close();
    return { dir, path };
  }

  it('refuses files outside the data folder with a 422 that names the setting, by .., absolute path, baseDir or symlink', async () => {
    t = await testRuntime();
    const outside = outsideDatabase();
    try {
      const relative = relativePath(t.dir, outside.path);
      symlinkSync(outside.path, join(t.dir, 'innocent.db'));
      for (const response of [
        await describeFile(relative),
        await describeFile(outside.path),
        await describeFile('other.db', { baseDir: outside.dir }),
        await describeFile('innocent.db'),
      ]) {
        const refused = await errorOf(response);
        expect(refused).toMatchObject({ status: 422, code: 'access_refused' });
        expect(refused.message).toMatch(/is outside the folders a flow may open .*--allow-files DIR .*SYNCLINE_ALLOW_FILES/);
        expect(refused.message).not.toContain('secrets');
      }
      // Whether the refused file exists or not, the answer is the same.
      const missing = await errorOf(await describeFile(join(outside.dir, 'absent.db')));
      const present = await errorOf(await describeFile(outside.path));
      expect(missing.message.replace('absent.db', 'other.db')).toBe(present.message);
      const notThere = await errorOf(await describeFile('/no/such/folder/x.db'));
      expect(notThere.message.replace('/no/such/folder/x.db', outside.path)).toBe(present.message);
      // Nothing was changed in the refused file: not even its journal mode.
      const db = new Sqlite(outside.path, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      db.close();
    } finally {
      rmSync(outside.dir, { recursive: true, force: true });
    }
  });

  it("refuses the runtime's own files in the data folder, whatever the collection", async () => {
    t = await testRuntime();
    const state = new Sqlite(join(t.dir, 'state.db'));
    state.exec('CREATE TABLE credentials (name TEXT PRIMARY KEY, type TEXT, value BLOB)');
    state.close();
    for (const file of ['state.db', './state.db', join(t.dir, 'state.db'), 'webhooks.db', 'credentials.key', 'token']) {
      const refused = await errorOf(await describeFile(file, { collection: 'credentials' }));
      expect(refused, file).toMatchObject({ status: 422, code: 'access_refused', message: expect.stringContaining("Syncline's own files") });
    }
  });

  it('describes files in a folder the operator allowed', async () => {
    const outside = outsideDatabase();
    try {
      t = await testRuntime({ access: { files: { allowedDirs: [outside.dir], runtimeFiles: [] }, hosts: { allowed: [] } } });
      const response = await describeFile('other.db', { baseDir: outside.dir });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { collections: Array<{ name: string }> }).collections.map((collection) => collection.name)).toEqual(['secrets']);
    } finally {
      rmSync(outside.dir, { recursive: true, force: true });
    }
  });

  describe('http', () => {
    let api: Server;
    let port: number;
    beforeAll(async () => {
      api = createServer((request, response) => {
        if (request.url?.startsWith('/html')) {
          response.writeHead(200, { 'content-type': 'text/html' });
          response.end(`<html><body><script>leak()</script><h1>Internal\u0007 admin</h1>${'x'.repeat(1000)}</body></html>`);
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify([{ id: 1, name: 'Ada' }]));
      });
      await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
      port = (api.address() as AddressInfo).port;
    });
    afterAll(async () => {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    });
    const describeApi = (baseUrl: string, collection = 'people') => t.post('/api/connectors/describe', { connector: 'http', connection: { baseUrl }, collection });

    it('refuses loopback hosts, by address, name or numeric spelling, until the operator allows them', async () => {
      t = await testRuntime();
      for (const host of ['127.0.0.1', 'localhost', '2130706433', '0x7f.1', '[::ffff:127.0.0.1]']) {
        const refused = await errorOf(await describeApi(`http://${host}:${port}`));
        expect(refused, host).toMatchObject({ status: 422, code: 'access_refused', message: expect.stringMatching(/--allow-hosts .*SYNCLINE_ALLOW_HOSTS/) });
      }
      await t.close();
      t = await testRuntime({ allowHosts: ['localhost'] });
      expect((await describeApi(`http://localhost:${port}`)).status).toBe(200);
      expect((await errorOf(await describeApi(`http://127.0.0.1:${port}`))).code).toBe('access_refused');
    });

    it('never reaches the cloud metadata address, even with every private host allowed', async () => {
      t = await testRuntime({ allowHosts: ['private'] });
      expect((await describeApi(`http://127.0.0.1:${port}`)).status).toBe(200);
      for (const baseUrl of ['http://169.254.169.254', 'http://[::ffff:a9fe:a9fe]', 'http://2852039166']) {
        expect(await errorOf(await describeApi(baseUrl)), baseUrl).toMatchObject({ status: 422, code: 'access_refused', message: expect.stringContaining('cloud metadata') });
      }
    });

    it('quotes only a short plain excerpt of an answer that is not JSON', async () => {
      t = await testRuntime({ allowHosts: [`127.0.0.1:${port}`] });
      const refused = await errorOf(await describeApi(`http://127.0.0.1:${port}`, 'html'));
      expect(refused).toMatchObject({ status: 422, code: 'connection_failed' });
      expect(refused.message).toContain('the response is not JSON (status 200, text/html): "Internal admin xxx');
      expect(refused.message).not.toMatch(/[<>\p{Cc}]|leak/u);
      expect(refused.message.length).toBeLessThan(400);
    });
  });
});
