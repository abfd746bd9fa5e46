/**
 * `serve`, `run --once`, `credentials` and `state copy` with the state in PostgreSQL, as whole processes where that is
 * what shows the behaviour. Runs in the main project only (it is PostgreSQL's already: vite.config.ts).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseServeArgs, startServer, type RunningServer } from '../../runtime/commands/serve';
import { openStateDb } from '../../runtime/db/index';
import { signBody } from '../../runtime/webhooks/signature';
import { databaseUrl, skipPostgres, unreachableUrl } from '../connectors/support/postgres';
import { exited, runCli, START_TIMEOUT_MS, startServeProcess, type ServeProcess } from '../support/cliProcess';
import { postgresStateForThisTest } from '../support/serverState';
import { contacts, createSides, eventually, holdFlow, peopleFlow, polledPeopleFlow, SECRET, upsertPerson } from './support';

const children: ChildProcessWithoutNullStreams[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-pgstate-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh schema's state URL, its password set to one the test server ignores (it trusts loopback), to see it never shown. */
async function stateUrl(): Promise<string> {
  const url = new URL(await postgresStateForThisTest());
  url.password = 'hunter2';
  return url.toString();
}

function api(server: { base: string; token: string }, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.base}${path}`, { ...init, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' } });
}

async function json(response: Promise<Response>, status = 200): Promise<unknown> {
  const answer = await response;
  const text = await answer.text();
  expect(answer.status, text).toBe(status);
  return JSON.parse(text) as unknown;
}

/** `serve` in this process, its log quiet. */
async function serveHere(args: string[]): Promise<RunningServer & { base: string }> {
  const options = parseServeArgs(['--port', '0', ...args]);
  if (typeof options === 'string') throw new Error(options);
  const savedLevel = process.env.SYNCLINE_LOG_LEVEL;
  process.env.SYNCLINE_LOG_LEVEL = 'error';
  try {
    const server = await startServer(options);
    cleanups.push(() => server.stop());
    return Object.assign(server, { base: server.url.replace(/\/$/, '') });
  } finally {
    if (savedLevel === undefined) delete process.env.SYNCLINE_LOG_LEVEL;
    else process.env.SYNCLINE_LOG_LEVEL = savedLevel;
  }
}

/** The rows of a schema's migration history tables. */
async function histories(url: string): Promise<{ state: string[]; inbox: string[] }> {
  const db = await openStateDb(url, { poolSize: 1 });
  try {
    const names = async (table: string) => (await sql<{ name: string }>`select name from ${sql.table(table)} order by name`.execute(db)).rows.map((row) => row.name);
    return { state: await names('kysely_migration'), inbox: await names('inbox_migration') };
  } finally {
    await db.destroy();
  }
}

/** The migrations a state gets, as a fresh SQLite state records them. */
async function stateMigrations(): Promise<string[]> {
  const db = await openStateDb(':memory:');
  try {
    return (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((row) => row.name);
  } finally {
    await db.destroy();
  }
}

describe.skipIf(skipPostgres())('the state in PostgreSQL', () => {
  it('lets two serve processes start at once on an empty schema: one migrates under the lock, both serve the one state', async () => {
    const url = await stateUrl();
    const [firstDir, secondDir] = [tempDir(), tempDir()];
    // One names the state with --state, the other with SYNCLINE_STATE_URL (and a --state would win over it).
    const [first, second] = await Promise.all([
      startServeProcess(['--data', firstDir, '--state', url], {}, children),
      startServeProcess(['--data', secondDir], { SYNCLINE_STATE_URL: url }, children),
    ]);
    const both: ServeProcess[] = [first, second];
    // Both are members of one cluster (docs/scale-out.md).
    for (const server of both) expect(await json(fetch(`${server.base}/health`))).toMatchObject({ ok: true, cluster: { processes: 2 } });

    expect(await histories(url)).toEqual({ state: await stateMigrations(), inbox: ['2026_11_26_2100_webhook_inbox'] });
    // Both write the one state (what each process keeps in memory, such as its flow catalog, is the cluster's to share).
    await json(api(first, '/api/flows', { method: 'POST', body: JSON.stringify(polledPeopleFlow()) }), 201);
    await json(api(second, '/api/credentials', { method: 'POST', body: JSON.stringify({ name: 'hook-secret', type: 'webhook-secret', value: SECRET }) }), 201);
    const reader = await openStateDb(url, { poolSize: 1 });
    cleanups.push(() => reader.destroy());
    expect(await reader.selectFrom('flows').select('id').execute()).toEqual([{ id: 'people' }]);
    expect(await reader.selectFrom('credentials').select('name').execute()).toEqual([{ name: 'hook-secret' }]);
    // The data folders keep the token and the key only, and no output shows the password.
    for (const dir of [firstDir, secondDir]) expect(readdirSync(dir).sort()).toEqual(['credentials.key', 'token']);
    for (const server of both) expect(server.output.join('')).not.toMatch(/hunter2/);

    for (const server of both) server.child.kill('SIGTERM');
    expect(await Promise.all(both.map((server) => exited(server.child)))).toEqual([0, 0]);
  }, 3 * START_TIMEOUT_MS);

  it('acknowledges a webhook once the event is in PostgreSQL, and its pass runs from there', async () => {
    const url = await stateUrl();
    const dataDir = tempDir();
    createSides(dataDir);
    const server = await serveHere(['--data', dataDir, '--state', url]);
    expect(existsSync(join(dataDir, 'state.db')) || existsSync(join(dataDir, 'webhooks.db'))).toBe(false);
    await json(api(server, '/api/credentials', { method: 'POST', body: JSON.stringify({ name: 'hook-secret', type: 'webhook-secret', value: SECRET }) }), 201);
    await json(api(server, '/api/flows', { method: 'POST', body: JSON.stringify(peopleFlow()) }), 201);
    await json(api(server, '/api/flows/people/deploy', { method: 'POST' }));
    const ada = upsertPerson(dataDir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const body = JSON.stringify({ type: 'upsert', id: String(ada) });
    const answer = await fetch(`${server.base}/hooks/people/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': 'd-1' },
      body,
    });
    expect(answer.status).toBe(202);
    // The passes run on a worker thread, on its own connections by the same URL.
    await eventually(() => expect(contacts(dataDir).map((contact) => contact.full_name)).toEqual(['Ada Lovelace']));
    const reader = await openStateDb(url, { poolSize: 1 });
    cleanups.push(() => reader.destroy());
    await eventually(async () => {
      const events = await reader.selectFrom('webhook_events').select(['record_id', 'delivery_id', 'processed_at']).execute();
      expect(events).toEqual([{ record_id: String(ada), delivery_id: 'd-1', processed_at: expect.any(String) }]);
      const runs = await reader.selectFrom('runs').select(['reason', 'status']).execute();
      expect(runs).toEqual([{ reason: 'webhook', status: 'ok' }]);
    });
  });

  it('refuses to start, naming the server and never the password, when the schema is missing or the server is unreachable', async () => {
    const missing = new URL(databaseUrl);
    missing.password = 'hunter2';
    missing.searchParams.set('schema', 'syncline_no_such_schema');
    const unreachable = new URL(unreachableUrl(9));
    unreachable.password = 'hunter2';
    const started = await runCli(['serve', '--port', '0', '--data', tempDir(), '--state', missing.toString()]);
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(/^syncline serve: PostgreSQL state postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+: schema "syncline_no_such_schema" does not exist: create it first/);
    const dataDir = tempDir();
    await expect(serveHere(['--data', dataDir, '--state', unreachable.toString()])).rejects.toThrow(/^PostgreSQL state postgres:\/\/postgres@127\.0\.0\.1:9\/\w+: .*ECONNREFUSED/);
    for (const output of [started.stdout, started.stderr]) expect(output).not.toMatch(/hunter2/);
    // Nothing was made in the data folder for a state that never opened.
    expect(existsSync(join(dataDir, 'state.db'))).toBe(false);
  });

  it('stores credentials and runs a pass with run --once in the PostgreSQL state, the key in --data', async () => {
    const url = await stateUrl();
    const dir = tempDir();
    createSides(dir);
    writeFileSync(join(dir, 'flow.json'), JSON.stringify(peopleFlow()));
    const added = await runCli(['credentials', 'add', 'hook-secret', '--type', 'webhook-secret', '--state', url, '--data', dir], { input: `${SECRET}\n` });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^stored "hook-secret" \(webhook-secret\), encrypted in postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+\?schema=syncline_server_\w+\n$/);
    expect(existsSync(join(dir, 'credentials.key'))).toBe(true);
    const listed = await runCli(['credentials', 'list'], { env: { SYNCLINE_STATE_URL: url } });
    expect(listed.stdout).toMatch(/^hook-secret\s+webhook-secret/);

    upsertPerson(dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const run = (state: string[]) => runCli(['run', join(dir, 'flow.json'), '--once', ...state, '--data', dir]);
    const first = await run(['--state', url]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ created: 1, failed: 0 });
    expect(contacts(dir).map((contact) => contact.full_name)).toEqual(['Ada Lovelace']);
    const again = await runCli(['run', join(dir, 'flow.json'), '--once', '--data', dir], { env: { SYNCLINE_STATE_URL: url } });
    // Its own write to b.db comes back as an echo, and is dropped.
    expect(JSON.parse(again.stdout)).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 1, conflicts: 0, failed: 0 });
    for (const output of [added, listed, first, again].flatMap((result) => [result.stdout, result.stderr])) expect(output).not.toMatch(/hunter2/);
  }, 2 * START_TIMEOUT_MS);
  it('names the state by a credential in the data folder: serve, run --once and credentials reach it, and no output shows the URL', async () => {
    const url = await stateUrl();
    const dir = tempDir();
    createSides(dir);
    writeFileSync(join(dir, 'flow.json'), JSON.stringify(peopleFlow()));
    const localStore = join(dir, 'state.db');
    const stored = await runCli(['credentials', 'add', 'state-db', '--type', 'token', '--state', localStore], { input: `${url}\n` });
    expect(stored.code, stored.stderr).toBe(0);
    const viaCredential = { SYNCLINE_STATE_URL: 'credential:state-db' };

    const added = await runCli(['credentials', 'add', 'hook-secret', '--type', 'webhook-secret', '--data', dir], { input: `${SECRET}\n`, env: viaCredential });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/encrypted in postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+\?schema=syncline_server_\w+\n$/);
    upsertPerson(dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const run = await runCli(['run', join(dir, 'flow.json'), '--once', '--data', dir, '--state', 'credential:state-db']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ created: 1, failed: 0 });

    const server = await startServeProcess(['--data', dir, '--state', 'credential:state-db'], {}, children);
    expect(await json(fetch(`${server.base}/health`))).toMatchObject({ ok: true, cluster: { processes: 1 } });
    expect(await json(api(server, '/api/credentials'))).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'hook-secret' })]));
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);
    // The state is PostgreSQL's: the runs and the credential are there, and the local store holds only the URL.
    const reader = await openStateDb(url, { poolSize: 1 });
    cleanups.push(() => reader.destroy());
    expect(await reader.selectFrom('runs').select('reason').execute()).toEqual([{ reason: 'cli' }]);
    const local = await openStateDb(localStore);
    cleanups.push(() => local.destroy());
    expect(await local.selectFrom('credentials').select('name').execute()).toEqual([{ name: 'state-db' }]);
    expect(await local.selectFrom('runs').select('id').execute()).toEqual([]);

    const missing = await runCli(['serve', '--port', '0', '--data', dir, '--state', 'credential:other']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^syncline serve: --state credential:other: no credential "other" in .*state\.db; store it with: /);
    for (const output of [stored, added, run, missing].flatMap((result) => [result.stdout, result.stderr]).concat(server.output.join(''))) expect(output).not.toMatch(/hunter2/);
  }, 2 * START_TIMEOUT_MS);
});

describe.skipIf(skipPostgres())('syncline state copy', () => {
  it('moves a state made by real passes into PostgreSQL and back, ids, runs and conflicts as they were', async () => {
    const dataDir = tempDir();
    createSides(dataDir);
    // The original: a SQLite state with a flow, runs, a conflict, a credential and webhook history.
    const original = await serveHere(['--data', dataDir]);
    await json(api(original, '/api/credentials', { method: 'POST', body: JSON.stringify({ name: 'hook-secret', type: 'webhook-secret', value: SECRET }) }), 201);
    const flow = peopleFlow({ namePolicy: 'manual' });
    writeFileSync(join(dataDir, 'flow.json'), JSON.stringify(flow));
    await json(api(original, '/api/flows', { method: 'POST', body: JSON.stringify(flow) }), 201);
    await json(api(original, '/api/flows/people/deploy', { method: 'POST' }));
    const ada = upsertPerson(dataDir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const grace = upsertPerson(dataDir, { name: 'Grace Hopper', email: 'grace@example.com' });
    const hook = (id: number, delivery: string) => {
      const body = JSON.stringify({ type: 'upsert', id: String(id) });
      return fetch(`${original.base}/hooks/people/a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': delivery },
        body,
      });
    };
    expect((await hook(ada, 'd-1')).status).toBe(202);
    expect((await hook(grace, 'd-2')).status).toBe(202);
    await eventually(() => expect(contacts(dataDir)).toHaveLength(2));
    // Both sides change Ada's name: the manual policy files a conflict. The flow is held while they do, or a pass
    // still due for the second event could carry the first edit across before the second is made (a sequence, not a
    // conflict).
    const release = await holdFlow(original.runtime, 'people');
    try {
      upsertPerson(dataDir, { id: ada, name: 'Ada King', email: 'ada@example.com' });
      const b = contacts(dataDir).find((contact) => contact.email === 'ada@example.com')!;
      const { default: Sqlite } = await import('better-sqlite3');
      const side = new Sqlite(join(dataDir, 'b.db'));
      side.prepare('UPDATE contacts SET full_name = ?, modified_at = ? WHERE id = ?').run('Countess Lovelace', new Date().toISOString(), b.id);
      side.close();
    } finally {
      await release();
    }
    await json(api(original, '/api/flows/people/run', { method: 'POST' }));
    const seen = async (server: { base: string; token: string }) => ({
      flows: await json(api(server, '/api/flows')),
      document: await json(api(server, '/api/flows/people')),
      runs: await json(api(server, '/api/flows/people/runs')),
      conflicts: await json(api(server, '/api/conflicts?flow=people')),
      credentials: await json(api(server, '/api/credentials')),
    });
    await eventually(async () => expect((await seen(original)).conflicts).toHaveLength(1));
    const before = await seen(original);
    expect((before.runs as unknown[]).length).toBeGreaterThanOrEqual(3);
    cleanups.pop();
    await original.stop();

    const url = await stateUrl();
    const copied = await runCli(['state', 'copy', '--from', join(dataDir, 'state.db'), '--to', url]);
    expect(copied.code, copied.stderr).toBe(0);
    expect(copied.stdout).not.toMatch(/hunter2/);
    const counts = Object.fromEntries([...copied.stdout.matchAll(/^ {2}(\w+)\s+(\d+)$/gm)].map((match) => [match[1], Number(match[2])]));
    expect(counts).toMatchObject({ flows: 1, credentials: 1, conflicts: 1, webhook_events: 2, webhook_deliveries: 2 });
    expect(counts.runs).toBe((before.runs as unknown[]).length);
    expect(counts.links).toBeGreaterThanOrEqual(4);

    // The copy is where the original stopped: a pass on it finds nothing to do.
    const quiet = await runCli(['run', join(dataDir, 'flow.json'), '--once', '--state', url, '--data', dataDir]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(JSON.parse(quiet.stdout)).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });

    // A server on the copy, with the same data folder (token and credential key), shows what the original did.
    const copy = await serveHere(['--data', dataDir, '--state', url]);
    const after = await seen(copy);
    expect(after.flows).toEqual(before.flows);
    expect(after.document).toEqual(before.document);
    expect(after.conflicts).toEqual(before.conflicts);
    expect(after.credentials).toEqual(before.credentials);
    // One more run (the quiet one) at the top; the rest as they were, ids included.
    expect((after.runs as unknown[]).slice(1)).toEqual(before.runs);
    // Numbering goes on after the copied ids: a new webhook event and its run log are stored beside the old ones.
    const alan = upsertPerson(dataDir, { name: 'Alan Turing', email: 'alan@example.com' });
    const body = JSON.stringify({ type: 'upsert', id: String(alan) });
    const delivered = await fetch(`${copy.base}/hooks/people/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': 'd-3' },
      body,
    });
    expect(delivered.status).toBe(202);
    await eventually(() => expect(contacts(dataDir).map((contact) => contact.full_name)).toContain('Alan Turing'));
    // A repeated delivery id from before the copy is still recognised.
    const repeated = JSON.stringify({ type: 'upsert', id: String(ada) });
    const again = await fetch(`${copy.base}/hooks/people/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, repeated), 'x-syncline-delivery': 'd-1' },
      body: repeated,
    });
    expect(await again.json()).toEqual({ accepted: 0, duplicate: true });
    cleanups.pop();
    await copy.stop();

    // Into a schema that holds state already: refused, nothing written, and how to empty it said.
    const refused = await runCli(['state', 'copy', '--from', join(dataDir, 'state.db'), '--to', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already holds state \(rows in .*flows.*\): empty its schema first \(drop schema NAME cascade; create schema NAME\)/);
    expect(refused.stderr).not.toMatch(/hunter2/);

    // And back into a new file: the same rows.
    const backDir = tempDir();
    const back = await runCli(['state', 'copy', '--from', url, '--to', join(backDir, 'state.db')]);
    expect(back.code, back.stderr).toBe(0);
    expect(existsSync(join(backDir, 'webhooks.db'))).toBe(true);
    const backCounts = Object.fromEntries([...back.stdout.matchAll(/^ {2}(\w+)\s+(\d+)$/gm)].map((match) => [match[1], Number(match[2])]));
    expect(backCounts).toMatchObject({ flows: 1, credentials: 1, conflicts: 1, webhook_events: 3, webhook_deliveries: 3, runs: counts.runs! + 2 });
    copyFileSync(join(dataDir, 'credentials.key'), join(backDir, 'credentials.key'));
    copyFileSync(join(dataDir, 'token'), join(backDir, 'token'));
    const restored = await serveHere(['--data', backDir]);
    expect((await seen(restored)).conflicts).toEqual(before.conflicts);
  }, 4 * START_TIMEOUT_MS);
});
