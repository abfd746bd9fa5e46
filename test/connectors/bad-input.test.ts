import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FlowDocument } from '../../nodes/index';
import type { StateDb } from '../../runtime/db/index';
import type { SyncEngine } from '../../runtime/engine/index';
import { freePort } from '../support/http';
import { startFaultProxy, type FaultProxy } from './support/faultProxy';
import { jsonRequest, laterStamp, startJsonServer, type JsonServer } from './support/jsonServer';
import { expectConverged, leadsEngine, leadsFlow, marketingTrigger, postgresCrm, sqliteCrm, type CrmSide } from './support/leads';
import { databaseUrl, skipPostgres, unreachableUrl, urlWithUser } from './support/postgres';

// A system that cannot be used fails the pass with an error that names the trigger and says why; nothing of the
// runtime's state moves, and once the cause is fixed the next pass picks up the edits made before it.
const collections = Array.from({ length: 10 }, (_, index) => `contacts${index}`);
let server: JsonServer;
let nextCollection = 0;
const quickRetries = { timeoutMs: 2000, retries: { attempts: 2, baseMs: 10, maxWaitMs: 1000 } };

beforeAll(async () => {
  server = await startJsonServer(Object.fromEntries(collections.map((name) => [name, []])));
});
afterAll(async () => {
  await server?.stop();
});

/** Everything the runtime keeps between passes, except the run history (which records the failure). */
async function runtimeState(db: StateDb): Promise<unknown> {
  return {
    entities: await db.selectFrom('entities').selectAll().orderBy('id').execute(),
    links: await db.selectFrom('links').selectAll().orderBy('node_id').orderBy('record_id').execute(),
    cursors: await db.selectFrom('cursors').selectAll().orderBy('node_id').execute(),
    journal: await db.selectFrom('write_ahead').selectAll().orderBy('page').execute(),
    failing: await db.selectFrom('failing_records').selectAll().execute(),
    conflicts: await db.selectFrom('conflicts').selectAll().execute(),
  };
}

interface Breakage {
  crm: CrmSide;
  collection: string;
  engine: SyncEngine;
  db: StateDb;
  working: FlowDocument;
  broken: FlowDocument;
  error: RegExp;
  breakIt?(): void;
  fixIt?(): void;
}

async function expectFailureThenRecovery({ crm, collection, engine, db, working, broken, error, breakIt, fixIt }: Breakage): Promise<void> {
  const api = `${server.url}/${collection}`;
  await crm.insert({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', status: 'open', amount: 1000 });
  await crm.insert({ first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', status: 'open', amount: 250 });
  await jsonRequest('POST', api, { name: 'Alan Turing', email: 'alan@example.com', stage: 'Open', deal_value: null, updatedAt: await laterStamp(server, collection) });
  const first = await engine.runPass(working, { baseDir: crm.baseDir });
  expect(first.error).toBeNull();
  expect(first.summary).toMatchObject({ created: 3, failed: 0 });
  await engine.runPass(working, { baseDir: crm.baseDir });

  // Edits on both sides, made before the system breaks: they must not be lost.
  await crm.update('ada@example.com', { last_name: 'King' });
  const alan = (await server.all(collection)).find((contact) => contact['email'] === 'alan@example.com');
  await jsonRequest('PATCH', `${api}/${String(alan?.['id'])}`, { stage: 'Closed Lost', updatedAt: await laterStamp(server, collection) });
  const before = await runtimeState(db);

  breakIt?.();
  const failed = await engine.runPass(broken, { baseDir: crm.baseDir });
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatch(error);
  expect(failed.summary).toMatchObject({ created: 0, updated: 0, deleted: 0 });
  const run = await db.selectFrom('runs').selectAll().where('id', '=', failed.runId as string).executeTakeFirstOrThrow();
  expect(run).toMatchObject({ status: 'failed', error: failed.error });
  expect(await runtimeState(db)).toEqual(before);

  fixIt?.();
  const fixed = await engine.runPass(working, { baseDir: crm.baseDir });
  expect(fixed.error).toBeNull();
  expect(fixed.summary).toMatchObject({ created: 0, updated: 2, deleted: 0, failed: 0 });
  expectConverged(await crm.all(), await server.all(collection), ['ada@example.com', 'alan@example.com', 'grace@example.com']);
  expect((await server.all(collection)).find((contact) => contact['email'] === 'ada@example.com')?.['name']).toBe('Ada King');
  expect((await crm.all()).find((lead) => lead.email === 'alan@example.com')?.status).toBe('closed-lost');
  expect((await engine.runPass(working, { baseDir: crm.baseDir })).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
}

describe('bad input on the http side', () => {
  let crm: CrmSide;
  let db: StateDb;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
    await crm?.close();
    await db?.destroy();
  });

  async function setup(credentials: Record<string, string> = {}): Promise<{ engine: SyncEngine; collection: string }> {
    crm = sqliteCrm();
    const made = await leadsEngine({ attempts: 2, baseMs: 5, maxWaitMs: 1000 }, credentials);
    db = made.db;
    const collection = collections[nextCollection++] as string;
    return { engine: made.engine, collection };
  }

  it('an unreachable host', async () => {
    const { engine, collection } = await setup();
    const port = await freePort();
    await expectFailureThenRecovery({
      crm,
      collection,
      engine,
      db,
      working: leadsFlow(crm.trigger, marketingTrigger(server.url, collection, quickRetries)),
      broken: leadsFlow(crm.trigger, marketingTrigger(`http://127.0.0.1:${port}`, collection, quickRetries)),
      error: new RegExp(`^trigger "mkt": cannot list changes: GET http://127\\.0\\.0\\.1:${port}/${collection}\\?.*: cannot connect \\(connection refused\\): is the API running at that address\\? \\(2 tries\\)$`),
    });
  });

  it('wrong credentials', async () => {
    const credentials: Record<string, string> = { 'mkt-token': 'expired-token' };
    const { engine, collection } = await setup(credentials);
    proxy = await startFaultProxy(server.url, { kind: 'auth', authorization: 'Bearer good-token' });
    const flow = leadsFlow(crm.trigger, marketingTrigger(proxy.url, collection, { ...quickRetries, auth: { type: 'bearer', token: { credential: 'mkt-token' } } }));
    credentials['mkt-token'] = 'good-token';
    await expectFailureThenRecovery({
      crm,
      collection,
      engine,
      db,
      working: flow,
      broken: flow,
      error: /^trigger "mkt": cannot list changes: GET http:\/\/127\.0\.0\.1:\d+\/contacts\d\?\S+: 401 Unauthorized: the API refused the credentials \(bearer token from credential "mkt-token"\): check the stored credential and connection\.auth/,
      breakIt: () => (credentials['mkt-token'] = 'expired-token'),
      fixIt: () => (credentials['mkt-token'] = 'good-token'),
    });
  });

  it('a response that is not JSON', async () => {
    const { engine, collection } = await setup();
    proxy = await startFaultProxy(server.url, { kind: 'pass' });
    const flow = leadsFlow(crm.trigger, marketingTrigger(proxy.url, collection, quickRetries));
    const gateway = proxy;
    await expectFailureThenRecovery({
      crm,
      collection,
      engine,
      db,
      working: flow,
      broken: flow,
      error: /^trigger "mkt": cannot list changes: GET http:\/\/127\.0\.0\.1:\d+\/contacts\d\?\S+: the response is not JSON \(status 200, text\/html; charset=utf-8\): "Sign in"$/,
      breakIt: () => gateway.setMode({ kind: 'answer', status: 200, contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Sign in</title>' }),
      fixIt: () => gateway.setMode({ kind: 'pass' }),
    });
  });

  it('a page without the items path', async () => {
    const { engine, collection } = await setup();
    const wrapped = marketingTrigger(server.url, collection, quickRetries) as { connection: { list: Record<string, unknown> } };
    const broken = { ...wrapped, connection: { ...wrapped.connection, list: { ...wrapped.connection.list, itemsPath: 'data.items' } } };
    await expectFailureThenRecovery({
      crm,
      collection,
      engine,
      db,
      working: leadsFlow(crm.trigger, marketingTrigger(server.url, collection, quickRetries)),
      broken: leadsFlow(crm.trigger, broken),
      error: new RegExp(
        `^trigger "mkt": cannot list changes: GET ${server.url}/${collection}\\?\\S+: expected the list of records at "data\\.items" \\(connection\\.list\\.itemsPath\\), but the response is a JSON array of \\d+$`,
      ),
    });
  });
});

describe.skipIf(skipPostgres())('bad input on the postgres side', () => {
  let crm: CrmSide & { schema: { name: string } };
  let db: StateDb;
  afterEach(async () => {
    await crm?.close();
    await db?.destroy();
  });

  async function setup(): Promise<{ engine: SyncEngine; collection: string }> {
    crm = await postgresCrm();
    const made = await leadsEngine({ attempts: 2, baseMs: 5, maxWaitMs: 1000 });
    db = made.db;
    return { engine: made.engine, collection: collections[nextCollection++] as string };
  }

  const withConnection = (trigger: Record<string, unknown>, connection: Record<string, unknown>) => ({ ...trigger, connection });

  it('a table that does not exist', async () => {
    const { engine, collection } = await setup();
    await expectFailureThenRecovery({
      crm,
      collection,
      engine,
      db,
      working: leadsFlow(crm.trigger, marketingTrigger(server.url, collection)),
      broken: leadsFlow({ ...crm.trigger, collection: `${crm.schema.name}.lead` }, marketingTrigger(server.url, collection)),
      error: new RegExp(`^trigger "crm": table "${crm.schema.name}\\.lead" does not exist in postgres://\\S+ \\(or the user cannot see it\\); tables in schema "${crm.schema.name}": leads$`),
    });
  });

  it('an unreachable host', async () => {
    const { engine, collection } = await setup();
    const url = unreachableUrl(await freePort());
    await expectFailureThenRecovery({
      crm,
      collection,
      engine,
      db,
      working: leadsFlow(crm.trigger, marketingTrigger(server.url, collection)),
      broken: leadsFlow(withConnection(crm.trigger, { url, connectTimeoutMs: 2000 }), marketingTrigger(server.url, collection)),
      error: /^trigger "crm": PostgreSQL postgres:\/\/\S+: cannot connect to 127\.0\.0\.1:\d+ \(connection refused\): is PostgreSQL running and listening there\?$/,
    });
  });

  it('wrong credentials', async () => {
    const { engine, collection } = await setup();
    expect(databaseUrl).not.toBe('');
    await expectFailureThenRecovery({
      crm,
      collection,
      engine,
      db,
      working: leadsFlow(crm.trigger, marketingTrigger(server.url, collection)),
      broken: leadsFlow(withConnection(crm.trigger, { url: urlWithUser('syncline_nobody') }), marketingTrigger(server.url, collection)),
      error: /^trigger "crm": PostgreSQL postgres:\/\/syncline_nobody@\S+: the server refused the login \(role "syncline_nobody" does not exist\): check the user and password/,
    });
  });
});
