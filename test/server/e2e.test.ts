import Sqlite from 'better-sqlite3';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openInboxDb } from '../../runtime/db/inbox';
import { signBody } from '../../runtime/webhooks/signature';
import { exited, START_TIMEOUT_MS, startServeProcess, type ServeProcess as Server } from '../support/cliProcess';
import { createTestState, stateOnPostgres } from '../support/serverState';
import { contacts, createSides, eventually, peopleFlow, SECRET, upsertPerson } from './support';

const dataDir = mkdtempSync(join(tmpdir(), 'syncline-e2e-'));
const children: ChildProcessWithoutNullStreams[] = [];
// The state: state.db and webhooks.db in the data folder, or a schema of this file's own (the server-postgres project).
const state = await createTestState();

/** Starts `syncline serve` on a free loopback port and waits for the line that says where it listens. */
function startServer(): Promise<Server> {
  return startServeProcess(['--data', dataDir], state.url === null ? {} : { SYNCLINE_STATE_URL: state.url }, children);
}

function api(server: Server, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
}

function hook(server: Server, id: number, delivery: string): Promise<Response> {
  const body = JSON.stringify({ type: 'upsert', id: String(id) });
  return fetch(`${server.base}/hooks/people/a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': delivery },
    body,
  });
}

/** Webhook events the server has stored but whose pass has not run yet, read from its inbox. */
async function pendingEvents(): Promise<number> {
  if (state.url !== null) {
    const inbox = await openInboxDb(state.url, { poolSize: 1 });
    try {
      return (await inbox.selectFrom('webhook_events').select('id').where('processed_at', 'is', null).execute()).length;
    } finally {
      await inbox.destroy();
    }
  }
  const inbox = new Sqlite(join(dataDir, 'webhooks.db'), { readonly: true });
  try {
    return (inbox.prepare('SELECT count(*) AS n FROM webhook_events WHERE processed_at IS NULL').get() as { n: number }).n;
  } finally {
    inbox.close();
  }
}

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
  await state.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('syncline serve, end to end', () => {
  it('imports and deploys a flow over HTTP, syncs signed webhooks, and runs on after a kill and a restart', async () => {
    createSides(dataDir);
    const first = await startServer();
    expect(first.output.join('')).toMatch(/new API token was generated/);
    expect(statSync(join(dataDir, 'token')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'credentials.key')).mode & 0o777).toBe(0o600);

    const health = await (await fetch(`${first.base}/health`)).json();
    // On PostgreSQL the process is a cluster of one (docs/scale-out.md), and /health says so.
    if (stateOnPostgres) expect(health).toEqual({ ok: true, process: expect.stringMatching(/:\d+$/), cluster: { processes: 1, queue: expect.any(Object) } });
    else expect(health).toEqual({ ok: true });
    expect((await fetch(`${first.base}/api/flows`)).status).toBe(401);
    expect((await api(first, '/api/credentials', { method: 'POST', body: JSON.stringify({ name: 'hook-secret', type: 'webhook-secret', value: SECRET }) })).status).toBe(201);
    expect((await api(first, '/api/flows', { method: 'POST', body: JSON.stringify(peopleFlow()) })).status).toBe(201);
    expect((await api(first, '/api/flows/people/deploy', { method: 'POST' })).status).toBe(200);

    // Over 1 MB, declared by Content-Length or streamed in chunks: 413 either way.
    const huge = JSON.stringify({ type: 'upsert', id: 'x'.repeat(1024 * 1024) });
    const signed = { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, huge) };
    expect((await fetch(`${first.base}/hooks/people/a`, { method: 'POST', headers: signed, body: huge })).status).toBe(413);
    const chunks = new ReadableStream({
      start(controller) {
        for (let sent = 0; sent < huge.length; sent += 64 * 1024) controller.enqueue(new TextEncoder().encode(huge.slice(sent, sent + 64 * 1024)));
        controller.close();
      },
    });
    const chunked = await fetch(`${first.base}/hooks/people/a`, { method: 'POST', headers: signed, body: chunks, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);

    const ada = upsertPerson(dataDir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    expect((await hook(first, ada, 'd1')).status).toBe(202);
    await eventually(() => expect(contacts(dataDir).map((contact) => contact.full_name)).toEqual(['Ada Lovelace']));
    // Her pass writes the row before it records its run and before her event is marked done: a kill before then would
    // replay her event together with the next one, in one pass.
    await eventually(async () => {
      expect(await pendingEvents()).toBe(0);
      const runs = (await (await api(first, '/api/flows/people/runs')).json()) as Array<{ status: string; reason: string }>;
      expect(runs.filter((run) => run.status === 'ok' && run.reason === 'webhook')).toHaveLength(1);
    });

    // Acknowledged, then killed at once: the event is on disk, so the restarted server still syncs it.
    const alan = upsertPerson(dataDir, { name: 'Alan Turing', email: 'alan@example.com' });
    expect((await hook(first, alan, 'd2')).status).toBe(202);
    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = await startServer();
    expect(second.token).toBe(first.token);
    expect(second.output.join('')).not.toMatch(/new API token/);
    expect(await (await api(second, '/api/flows')).json()).toEqual([{ id: 'people', name: 'People: A <-> B', deployed: true }]);
    await eventually(() => expect(contacts(dataDir).map((contact) => contact.full_name).sort()).toEqual(['Ada Lovelace', 'Alan Turing']));
    // Alan's row can be written by the pass the kill interrupted; his event is done once the restarted server has run
    // its pass too. Until then Grace's event, below, could join that pass instead of getting one of its own.
    await eventually(async () => expect(await pendingEvents()).toBe(0));

    expect(await (await hook(second, alan, 'd2')).json()).toEqual({ accepted: 0, duplicate: true });
    const grace = upsertPerson(dataDir, { name: 'Grace Hopper', email: 'grace@example.com' });
    expect((await hook(second, grace, 'd3')).status).toBe(202);
    await eventually(() => expect(contacts(dataDir)).toHaveLength(3));
    expect(contacts(dataDir).filter((contact) => contact.email === 'alan@example.com')).toHaveLength(1);

    // A pass writes the records before it records its run as finished: wait for the runs, not only the rows. Ada's,
    // Alan's (before the kill, or replayed after it) and Grace's each ran as a webhook pass of its own.
    await eventually(async () => {
      expect(await pendingEvents()).toBe(0);
      const runs = (await (await api(second, '/api/flows/people/runs')).json()) as Array<{ status: string; reason: string }>;
      expect(runs.filter((run) => run.status === 'ok' && run.reason === 'webhook').length).toBeGreaterThanOrEqual(3);
    });

    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
  }, 4 * START_TIMEOUT_MS);
});
