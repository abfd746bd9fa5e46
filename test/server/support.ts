import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { vi } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../runtime/app';
import type { ChangeHint, PassOptions } from '../../runtime/engine/types';
import { listen, type ListeningServer } from '../../runtime/server';
import { folderAccess, runtimeFilesIn } from '../../runtime/connectors/access';
import { connectorRegistry } from '../../runtime/connectors/index';
import { openInboxDb, type InboxDb } from '../../runtime/db/inbox';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import type { AlertNotice } from '../../runtime/observability/alerts';
import { createLogger } from '../../runtime/observability/logger';
import { signBody } from '../../runtime/webhooks/signature';
import { createTestState } from '../support/serverState';

export const TOKEN = 'test-token-0123456789';
export const SECRET = 'hook-secret-value';
export const auth = { authorization: `Bearer ${TOKEN}` };
export const jsonHeaders = { ...auth, 'content-type': 'application/json' };
/**
 * An alert webhook the host policy takes (a public address, never a loopback or private one the operator did not
 * allow). Nothing is sent to it: the test runtime's sender only records the notices.
 */
export const ALERT_URL = 'https://203.0.114.7/alert';

/** Sets the people flow's alert webhook, failing the test unless it was taken. */
export async function setAlertUrl(t: TestRuntime, url = ALERT_URL): Promise<void> {
  const answer = await t.request('/api/flows/people/alert', { method: 'PUT', headers: jsonHeaders, body: JSON.stringify({ url }) });
  if (answer.status !== 200) throw new Error(`alert webhook ${url}: ${answer.status} ${await answer.text()}`);
}

/** Two SQLite databases: `a.db` people(id, name, email, updated_at) and `b.db` contacts(id, full_name, email, modified_at). */
export function createSides(dir: string): void {
  const a = new Sqlite(join(dir, 'a.db'));
  a.exec('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, updated_at TEXT NOT NULL)');
  a.close();
  const b = new Sqlite(join(dir, 'b.db'));
  b.exec('CREATE TABLE contacts (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, modified_at TEXT NOT NULL)');
  b.close();
}

/** Inserts (or updates, given an id) a person in a.db and returns its id. */
export function upsertPerson(dir: string, person: { id?: number; name: string; email: string }): number {
  const a = new Sqlite(join(dir, 'a.db'));
  try {
    const now = new Date().toISOString();
    if (person.id !== undefined) {
      a.prepare('UPDATE people SET name = ?, email = ?, updated_at = ? WHERE id = ?').run(person.name, person.email, now, person.id);
      return person.id;
    }
    return Number(a.prepare('INSERT INTO people (name, email, updated_at) VALUES (?, ?, ?)').run(person.name, person.email, now).lastInsertRowid);
  } finally {
    a.close();
  }
}

export function contacts(dir: string): Array<{ id: number; full_name: string; email: string }> {
  const b = new Sqlite(join(dir, 'b.db'), { readonly: true });
  try {
    return b.prepare('SELECT id, full_name, email FROM contacts ORDER BY id').all() as Array<{ id: number; full_name: string; email: string }>;
  } finally {
    b.close();
  }
}

export function addContact(dir: string, contact: { full_name: string; email: string }): void {
  const b = new Sqlite(join(dir, 'b.db'));
  b.prepare('INSERT INTO contacts (full_name, email, modified_at) VALUES (?, ?, ?)').run(contact.full_name, contact.email, new Date().toISOString());
  b.close();
}

/** A flow syncing a.db (webhook trigger `a`, or poll) with b.db (manual trigger `b`). */
export function peopleFlow(options: { id?: string; detect?: unknown; namePolicy?: 'manual' } = {}): Record<string, unknown> {
  return {
    format: 'syncline.flow',
    version: 1,
    id: options.id ?? 'people',
    name: 'People: A <-> B',
    nodes: [
      {
        id: 'a',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        config: {
          connector: 'sqlite',
          connection: { file: 'a.db' },
          collection: 'people',
          key: 'id',
          updatedAt: 'updated_at',
          detect: options.detect ?? { mode: 'webhook', secret: { credential: 'hook-secret' } },
        },
      },
      {
        id: 'map',
        type: 'mapping',
        typeVersion: 1,
        position: { x: 240, y: 0 },
        config: {
          fields: [
            { left: 'name', right: 'full_name', direction: 'both' },
            { left: 'email', right: 'email', direction: 'both' },
          ],
        },
      },
      {
        id: 'resolve',
        type: 'conflict',
        typeVersion: 1,
        position: { x: 480, y: 0 },
        config: {
          policy: 'last-write-wins',
          fields: options.namePolicy ? { full_name: options.namePolicy } : {},
          match: ['email'],
          deletes: 'propagate',
        },
      },
      {
        id: 'b',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 720, y: 0 },
        config: {
          connector: 'sqlite',
          connection: { file: 'b.db' },
          collection: 'contacts',
          key: 'id',
          updatedAt: 'modified_at',
          detect: { mode: 'manual' },
        },
      },
    ],
    edges: [
      { id: 'e1', source: 'a', target: 'map' },
      { id: 'e2', source: 'map', target: 'resolve' },
      { id: 'e3', source: 'resolve', target: 'b' },
    ],
  };
}

/** The people flow, polled once a minute: it runs when a test asks it to, and its webhooks are refused. */
export function polledPeopleFlow(options: { id?: string; namePolicy?: 'manual' } = {}): Record<string, unknown> {
  return peopleFlow({ detect: { mode: 'poll', intervalMs: 60_000 }, ...options });
}

export interface TestRuntime {
  runtime: Runtime;
  db: StateDb;
  /** The webhook inbox: stored webhook events and delivery ids. */
  inbox: InboxDb;
  dir: string;
  alerts: AlertNotice[];
  request(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs JSON with the token. */
  post(path: string, body?: unknown): Promise<Response>;
  /** A signed webhook POST. */
  hook(flowId: string, nodeId: string, body: string, headers?: Record<string, string>): Promise<Response>;
  /** State and inbox rows that bad requests must leave alone. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A runtime on an in-memory state and webhook inbox (in the `server-postgres` project, both in a schema of the test's
 * own: test/support/serverState.ts), the real engine and connectors, and a temp folder holding a.db and b.db. It
 * opens the state and the inbox, so it closes them (and drops the schema). Connectors get the product's default access (files in
 * that folder, no loopback or private host) plus `allowHosts`, as `serve --allow-hosts` would give them.
 */
export async function testRuntime(options: Partial<Omit<RuntimeOptions, 'db' | 'inbox'>> & { allowHosts?: string[] } = {}): Promise<TestRuntime> {
  const { allowHosts = [], ...runtimeOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), 'syncline-server-'));
  createSides(dir);
  const state = await createTestState();
  const db = await openStateDb(state.url ?? ':memory:', { poolSize: 4 });
  const inbox = await openInboxDb(state.url ?? ':memory:', { poolSize: 4 });
  const alerts: AlertNotice[] = [];
  const runtime = await createRuntime({
    db,
    inbox,
    dataDir: dir,
    token: TOKEN,
    credentialKey: randomBytes(32),
    connectors: connectorRegistry,
    // SYNCLINE_TEST_LOG=debug shows the runtime's log while a test runs.
    ...(process.env.SYNCLINE_TEST_LOG ? { logger: createLogger({ level: process.env.SYNCLINE_TEST_LOG }) } : {}),
    alertSender: async (_url, notice) => {
      alerts.push(notice);
    },
    access: { ...folderAccess(dir, runtimeFilesIn(dir)), hosts: { allowed: allowHosts } },
    ...runtimeOptions,
  });
  const request = async (path: string, init?: RequestInit) => runtime.app.request(path, init);
  return {
    runtime,
    db,
    inbox,
    dir,
    alerts,
    request,
    post: (path, body) =>
      request(path, { method: 'POST', headers: body === undefined ? auth : jsonHeaders, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
    hook: (flowId, nodeId, body, headers = {}) =>
      request(`/hooks/${flowId}/${nodeId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), ...headers },
        body,
      }),
    snapshot: async () => {
      const rows: Record<string, unknown> = {};
      for (const table of ['flows', 'credentials', 'runs', 'conflicts', 'entities', 'links'] as const) rows[table] = await db.selectFrom(table).selectAll().execute();
      for (const table of ['webhook_events', 'webhook_deliveries'] as const) rows[`inbox.${table}`] = await inbox.selectFrom(table).selectAll().execute();
      return JSON.stringify(rows);
    },
    close: async () => {
      await runtime.stop();
      await inbox.destroy();
      await db.destroy();
      await state.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Stores credentials through the API, as a person does before pointing triggers at them: `[name, type, value]` each. */
export async function storeCredentials(t: TestRuntime, entries: ReadonlyArray<readonly [name: string, type: string, value: string]>): Promise<void> {
  for (const [name, type, value] of entries) {
    const stored = await t.post('/api/credentials', { name, type, value });
    if (stored.status !== 201) throw new Error(`credential ${name}: ${stored.status} ${await stored.text()}`);
  }
}

/** Imports the people flow, stores its secret and deploys it. */
export async function deployPeople(t: TestRuntime, flow: Record<string, unknown> = peopleFlow()): Promise<void> {
  const created = await t.post('/api/credentials', { name: 'hook-secret', type: 'webhook-secret', value: SECRET });
  if (created.status !== 201 && created.status !== 409) throw new Error(`credential: ${created.status} ${await created.text()}`);
  const imported = await t.post('/api/flows', flow);
  if (imported.status !== 201) throw new Error(`import: ${imported.status} ${await imported.text()}`);
  const deployed = await t.post(`/api/flows/${String(flow.id)}/deploy`);
  if (deployed.status !== 200) throw new Error(`deploy: ${deployed.status} ${await deployed.text()}`);
}

/**
 * Polls until `check` passes. The time limit only turns a condition that never comes true into a failure with its
 * last assertion; it is generous, since on a busy machine a pass can take many times longer than on a quiet one.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Takes a flow's pass lock (the runner's `exclusive`, as a conflict resolution does) and keeps it: no pass of the flow
 * runs until the returned function is called, which resolves once the lock is given back. Resolves once the lock is
 * held, that is after any pass of the flow in progress.
 */
export async function holdFlow(runtime: Runtime, flowId: string): Promise<() => Promise<void>> {
  let release: (() => void) | undefined;
  const held = runtime.deps.runner.exclusive(flowId, () => new Promise<void>((resolve) => (release = resolve)));
  const holding = await eventually(() => release ?? Promise.reject(new Error(`the pass lock of flow ${flowId} was not taken`)));
  return async () => {
    holding();
    await held;
  };
}

/** From now on, every pass the runner is asked for (by the scheduler, webhooks or the API), as `[flowId, reason]`. */
export function recordPassRequests(t: TestRuntime): () => Array<[string, string]> {
  const spy = vi.spyOn(t.runtime.deps.runner, 'runPass');
  return () => spy.mock.calls.map(([flowId, request]) => [flowId, request.reason]);
}

/** From now on, the reason and change hints of every pass the engine runs. */
export function recordPasses(t: TestRuntime): Array<{ reason: string | undefined; hints: ChangeHint[] | undefined }> {
  const engine = t.runtime.deps.engine;
  const original = engine.runPass.bind(engine);
  const seen: Array<{ reason: string | undefined; hints: ChangeHint[] | undefined }> = [];
  engine.runPass = async (flow, options: PassOptions) => {
    seen.push({ reason: options.reason, hints: options.hints });
    return original(flow, options);
  };
  return seen;
}

/** Webhook events stored in the inbox and not yet merged by a pass. */
export async function unprocessedEvents(t: TestRuntime): Promise<number> {
  return (await t.inbox.selectFrom('webhook_events').select('id').where('processed_at', 'is', null).execute()).length;
}

/** The runtime listening on a free loopback port as `serve` runs it, webhooks taking the server's direct path. */
export async function listenOnLoopback(t: TestRuntime): Promise<ListeningServer & { base: string }> {
  const server = await listen(t.runtime.app, { host: '127.0.0.1', port: 0, webhooks: t.runtime.deps });
  return Object.assign(server, { base: `http://127.0.0.1:${server.port}` });
}

/** The people flow on its own pair of databases in `folder` (under the runtime's data folder), polled every `intervalMs`. */
export function flowOnOwnSides(t: TestRuntime, id: string, folder: string, intervalMs: number): Record<string, unknown> {
  mkdirSync(join(t.dir, folder));
  createSides(join(t.dir, folder));
  const flow = peopleFlow({ id, detect: { mode: 'poll', intervalMs } }) as { nodes: Array<{ config: { connection?: { file: string } } }> };
  for (const node of flow.nodes) if (node.config.connection) node.config.connection = { file: `${folder}/${node.config.connection.file}` };
  return flow as unknown as Record<string, unknown>;
}
