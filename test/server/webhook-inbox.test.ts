// SQLite's webhook inbox: a file of its own beside state.db (SQLite lets one connection write a file at a time), and
// events an older state.db held moved into it. With the state in PostgreSQL the inbox is the state's schema, so this
// suite runs on SQLite in both projects; hooks.test.ts covers the inbox on either.
import Sqlite from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../runtime/commands/serve';
import { openStateDb } from '../../runtime/db/index';
import { signBody } from '../../runtime/webhooks/signature';
import { contacts, createSides, eventually, peopleFlow, SECRET, TOKEN, upsertPerson } from './support';

const saved = { token: process.env.SYNCLINE_TOKEN, logLevel: process.env.SYNCLINE_LOG_LEVEL };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const [name, value] of [['SYNCLINE_TOKEN', saved.token], ['SYNCLINE_LOG_LEVEL', saved.logLevel]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('syncline serve and its webhook inbox', () => {
  it("moves an older state's webhook events into webhooks.db, and acknowledges webhooks while another connection holds state.db's write lock", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'syncline-inbox-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    createSides(dataDir);
    const before = upsertPerson(dataDir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    // A state file as an earlier version left it: an acknowledged event still pending, and its delivery id.
    const older = await openStateDb(join(dataDir, 'state.db'));
    await older
      .insertInto('webhook_events')
      .values({ flow_id: 'people', node_id: 'a', record_id: String(before), type: 'upsert', delivery_id: 'before-upgrade', received_at: new Date().toISOString(), processed_at: null })
      .execute();
    await older.insertInto('webhook_deliveries').values({ flow_id: 'people', node_id: 'a', delivery_id: 'before-upgrade', received_at: new Date().toISOString() }).execute();
    await older.destroy();

    process.env.SYNCLINE_TOKEN = TOKEN;
    // Silent, not to a log file in dataDir: that file is opened in the background and could outlive the folder.
    process.env.SYNCLINE_LOG_LEVEL = 'silent';
    const server = await startServer({ port: 0, dataDir, host: '127.0.0.1', metricsPublic: false, corsOrigins: [] });
    cleanups.push(() => server.stop());

    expect(existsSync(join(dataDir, 'webhooks.db'))).toBe(true);
    expect(await server.db.selectFrom('webhook_events').select('id').execute()).toEqual([]);
    expect(await server.db.selectFrom('webhook_deliveries').select('delivery_id').execute()).toEqual([]);
    expect(await server.inbox.selectFrom('webhook_events').select(['flow_id', 'record_id', 'delivery_id', 'processed_at']).execute()).toEqual([
      { flow_id: 'people', record_id: String(before), delivery_id: 'before-upgrade', processed_at: null },
    ]);

    const api = (path: string, body?: unknown) =>
      fetch(new URL(path, server.url), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    expect((await api('/api/credentials', { name: 'hook-secret', type: 'webhook-secret', value: SECRET })).status).toBe(201);
    expect((await api('/api/flows', peopleFlow())).status).toBe(201);
    expect((await api('/api/flows/people/deploy')).status).toBe(200);
    const hook = (id: number, delivery: string) => {
      const body = JSON.stringify({ type: 'upsert', id: String(id) });
      return fetch(new URL('/hooks/people/a', server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': delivery },
        body,
      });
    };

    const during = upsertPerson(dataDir, { name: 'Grace Hopper', email: 'grace@example.com' });
    // Another writer holds state.db (as the pass worker does during a pass): the intake commits to webhooks.db regardless.
    const other = new Sqlite(join(dataDir, 'state.db'));
    other.exec('begin immediate');
    try {
      const stored = await hook(during, 'during-lock');
      expect(stored.status).toBe(202);
      expect(await stored.json()).toEqual({ accepted: 1, duplicate: false });
      const repeated = await hook(before, 'before-upgrade');
      expect(repeated.status).toBe(202);
      expect(await repeated.json()).toEqual({ accepted: 0, duplicate: true });
    } finally {
      other.exec('rollback');
      other.close();
    }

    await eventually(() => expect(contacts(dataDir).map((contact) => contact.full_name).sort()).toEqual(['Ada Lovelace', 'Grace Hopper']));
    await server.runtime.deps.worker.idle();
    await eventually(async () => expect(await server.inbox.selectFrom('webhook_events').select('id').where('processed_at', 'is', null).execute()).toEqual([]));
  });
});
