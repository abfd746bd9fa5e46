/**
 * POST /api/connectors/sample: a few real records of a trigger's collection, for the transform's "Try it". Read with
 * the runtime's stored credentials and under the operator's access policy, as a pass would.
 */
import Sqlite from 'better-sqlite3';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sampleResultSchema } from '../../runtime/api/schemas';
import { testRuntime, upsertPerson, type TestRuntime } from './support';
import { errorOf } from '../support/httpErrors';

let t: TestRuntime;
afterEach(async () => t?.close());

const sample = (body: unknown) => t.post('/api/connectors/sample', body);
const people = { connector: 'sqlite', connection: { file: 'a.db' }, collection: 'people', key: 'id', updatedAt: 'updated_at' };

describe('a sample of a trigger’s records', () => {
  it('reads the first records of the collection, oldest change first, with their data fields only', async () => {
    t = await testRuntime();
    for (const [name, email] of [['Ada Lovelace', 'ada@example.com'], ['Alan Turing', 'alan@example.com'], ['Grace Hopper', 'grace@example.com']]) {
      upsertPerson(t.dir, { name: name as string, email: email as string });
    }
    const response = await sample({ trigger: { ...people, detect: { mode: 'poll', intervalMs: 5000 } }, limit: 2 });
    expect(response.status).toBe(200);
    const { records } = sampleResultSchema.parse(await response.json());
    // The key and the change timestamp are identity and bookkeeping, not data (SPEC §3).
    expect(records).toEqual([
      { id: '1', fields: { name: 'Ada Lovelace', email: 'ada@example.com' } },
      { id: '2', fields: { name: 'Alan Turing', email: 'alan@example.com' } },
    ]);
    // Three by default.
    expect(((await (await sample({ trigger: people })).json()) as { records: unknown[] }).records).toHaveLength(3);
  });

  it('passes over deleted records, and answers an empty list for an empty collection', async () => {
    t = await testRuntime();
    const db = new Sqlite(join(t.dir, 'a.db'));
    db.exec('CREATE TABLE tickets (id INTEGER PRIMARY KEY, subject TEXT, gone INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO tickets (subject, gone, updated_at) VALUES (?, ?, ?)');
    insert.run('Printer on fire', 1, '2026-01-01T00:00:00.000Z');
    insert.run('Coffee machine', 0, '2026-01-02T00:00:00.000Z');
    db.close();
    const tickets = { connector: 'sqlite', connection: { file: 'a.db' }, collection: 'tickets', key: 'id', updatedAt: 'updated_at', deletedFlag: 'gone' };
    const { records } = sampleResultSchema.parse(await (await sample({ trigger: tickets, limit: 1 })).json());
    expect(records).toEqual([{ id: '2', fields: { subject: 'Coffee machine' } }]);
    expect(await (await sample({ trigger: people })).json()).toEqual({ records: [] });
  });

  it('refuses what is not a trigger, what it may not open, and what is not there, with a 4xx that says where', async () => {
    t = await testRuntime();
    const before = await t.snapshot();
    expect(await errorOf(await sample({ trigger: { ...people, collection: '' } }))).toMatchObject({ status: 422, code: 'invalid_trigger', path: 'trigger.collection' });
    expect(await errorOf(await sample({ trigger: { ...people, connector: 'oracle' } }))).toMatchObject({ status: 422, code: 'unknown_connector' });
    expect(await errorOf(await sample({ trigger: { ...people, connection: {} } }))).toMatchObject({ status: 422, code: 'invalid_connection', path: 'trigger.connection.file' });
    expect(await errorOf(await sample({ trigger: { ...people, collection: 'nowhere' } }))).toMatchObject({ status: 422, code: 'connection_failed', message: expect.stringMatching(/nowhere/) });
    const refused = await errorOf(await sample({ trigger: { ...people, connection: { file: '/etc/hosts.db' } } }));
    expect(refused).toMatchObject({ status: 422, code: 'access_refused', message: expect.stringMatching(/--allow-files/) });
    expect(await errorOf(await sample({ trigger: people, limit: 11 }))).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(await errorOf(await sample({ connector: 'sqlite' }))).toMatchObject({ status: 400, code: 'invalid_body' });
    expect((await t.request('/api/connectors/sample', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ trigger: people }) })).status).toBe(401);
    expect(await t.snapshot()).toBe(before);
  });

  describe('from an API', () => {
    let api: Server;
    let port: number;
    const seen: IncomingHttpHeaders[] = [];
    beforeAll(async () => {
      api = createServer((request, response) => {
        seen.push(request.headers);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify([{ id: 7, name: 'Ada', email: 'ada@example.com' }]));
      });
      await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
      port = (api.address() as AddressInfo).port;
    });
    afterAll(async () => {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    });
    const contacts = () => ({
      connector: 'http',
      connection: { baseUrl: `http://127.0.0.1:${port}`, auth: { type: 'bearer', token: { credential: 'crm-api' } } },
      collection: 'contacts',
      key: 'id',
    });

    it('reads with the stored credential, and only from hosts the operator allows', async () => {
      t = await testRuntime();
      expect((await t.post('/api/credentials', { name: 'crm-api', type: 'token', value: 'sekret-token' })).status).toBe(201);
      expect(await errorOf(await sample({ trigger: contacts() }))).toMatchObject({ status: 422, code: 'access_refused', message: expect.stringMatching(/--allow-hosts/) });
      expect(seen).toEqual([]);
      await t.close();

      t = await testRuntime({ allowHosts: [`127.0.0.1:${port}`] });
      expect(await errorOf(await sample({ trigger: contacts() }))).toMatchObject({ status: 422, code: 'missing_credential', message: expect.stringMatching(/crm-api/) });
      expect((await t.post('/api/credentials', { name: 'crm-api', type: 'token', value: 'sekret-token' })).status).toBe(201);
      const response = await sample({ trigger: contacts() });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ records: [{ id: '7', fields: { name: 'Ada', email: 'ada@example.com' } }] });
      expect(seen.at(-1)?.authorization).toBe('Bearer sekret-token');
    });
  });
});
