import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signBody } from '../../runtime/webhooks/signature';
import { auth, contacts, deployPeople, eventually, holdFlow, peopleFlow, recordPasses, SECRET, testRuntime, unprocessedEvents, upsertPerson, type TestRuntime } from './support';
import { expectError } from '../support/httpErrors';

let t: TestRuntime;
afterEach(async () => t?.close());

const event = (id: number | string, type = 'upsert') => JSON.stringify({ type, id: String(id) });

describe('webhooks', () => {
  it('stores a signed event, answers 202, and syncs the record to the other side', async () => {
    t = await testRuntime();
    await deployPeople(t);
    const id = upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const response = await t.hook('people', 'a', event(id));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, duplicate: false });
    await eventually(() => expect(contacts(t.dir)).toEqual([expect.objectContaining({ full_name: 'Ada Lovelace', email: 'ada@example.com' })]));
    await t.runtime.deps.worker.idle();
    expect(await unprocessedEvents(t)).toBe(0);

    upsertPerson(t.dir, { id, name: 'Ada King', email: 'ada@example.com' });
    const second = await t.hook('people', 'a', JSON.stringify([{ type: 'upsert', id }]));
    expect(await second.json()).toEqual({ accepted: 1, duplicate: false });
    await eventually(() => expect(contacts(t.dir).map((contact) => contact.full_name)).toEqual(['Ada King']));
  });

  it('accepts and ignores a repeated delivery id', async () => {
    t = await testRuntime();
    await deployPeople(t);
    const id = upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const body = JSON.stringify([{ type: 'upsert', id: String(id) }, { type: 'upsert', id: '999' }]);
    const first = await t.hook('people', 'a', body, { 'x-syncline-delivery': 'delivery-1' });
    expect(await first.json()).toEqual({ accepted: 2, duplicate: false });
    const again = await t.hook('people', 'a', body, { 'x-syncline-delivery': 'delivery-1' });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ accepted: 0, duplicate: true });
    // The same id twice in one flush: the first claims it.
    const pair = await Promise.all([t.hook('people', 'a', body, { 'x-syncline-delivery': 'delivery-2' }), t.hook('people', 'a', body, { 'x-syncline-delivery': 'delivery-2' })]);
    expect((await Promise.all(pair.map((response) => response.json()))).map((answer) => (answer as { duplicate: boolean }).duplicate).sort()).toEqual([false, true]);
    const rows = await t.inbox.selectFrom('webhook_events').select(['record_id', 'delivery_id']).where('delivery_id', '=', 'delivery-1').orderBy('id').execute();
    expect(rows).toEqual([
      { record_id: String(id), delivery_id: 'delivery-1' },
      { record_id: '999', delivery_id: 'delivery-1' },
    ]);
  });

  it('commits events that arrive together in one flush and merges a burst for one record into one hint', async () => {
    t = await testRuntime();
    await deployPeople(t);
    const ids = [1, 2, 3].map((n) => upsertPerson(t.dir, { name: `Person ${n}`, email: `p${n}@example.com` }));
    const passes = recordPasses(t);
    const kick = vi.spyOn(t.runtime.deps.worker, 'kick');
    // Hold the flow's lock so every event is stored before the worker can take a batch.
    const release = await holdFlow(t.runtime, 'people');
    // Concurrent requests may be stored in any order, so the delete of record 2 and its later upsert travel in one
    // body: whichever request lands last, the latest event for record 2 is an upsert.
    const deleteThenUpsert = JSON.stringify([{ type: 'delete', id: String(ids[1]) }, { type: 'upsert', id: String(ids[1]) }]);
    const bodies = [...Array.from({ length: 30 }, () => event(ids[0]!)), event(ids[1]!), event(ids[2]!), deleteThenUpsert];
    try {
      const responses = await Promise.all(bodies.map((body) => t.hook('people', 'a', body)));
      expect(responses.map((response) => response.status)).toEqual(bodies.map(() => 202));
      expect(await unprocessedEvents(t)).toBe(34);
      // Requests that arrive while a flush commits wait for the next one, not a flush each: how many flushes depends on
      // how the burst spreads over time (a few on SQLite, more on a busy PostgreSQL), never one per request.
      expect(kick.mock.calls.length).toBeLessThan(bodies.length);
    } finally {
      // A failed expectation must not leave the flow held: closing the runtime waits for it.
      await release();
    }
    await eventually(async () => expect(await unprocessedEvents(t)).toBe(0));
    await t.runtime.deps.worker.idle();
    const batch = passes.map((pass) => pass.hints).find((list) => list !== undefined && list.length > 0)!;
    expect(batch).toHaveLength(3);
    expect(batch).toEqual(
      expect.arrayContaining([
        { nodeId: 'a', recordId: String(ids[0]), type: 'upsert' },
        { nodeId: 'a', recordId: String(ids[1]), type: 'upsert' },
        { nodeId: 'a', recordId: String(ids[2]), type: 'upsert' },
      ]),
    );
    expect(contacts(t.dir)).toHaveLength(3);
  });

  it('reads a configured body shape', async () => {
    t = await testRuntime();
    await deployPeople(t, peopleFlow({ detect: { mode: 'webhook', secret: { credential: 'hook-secret' }, idPath: 'data.id', typePath: 'event' } }));
    const response = await t.hook('people', 'a', JSON.stringify({ event: 'record.deleted', data: { id: 7 } }));
    expect(response.status).toBe(202);
    const rows = await t.inbox.selectFrom('webhook_events').select(['record_id', 'type']).execute();
    expect(rows).toEqual([{ record_id: '7', type: 'delete' }]);
  });

  it('refuses unsigned, badly signed, malformed, oversized and misaddressed deliveries, storing nothing', async () => {
    t = await testRuntime();
    await deployPeople(t);
    const before = await t.snapshot();
    const body = event(1);
    const post = (path: string, payload: string, headers: Record<string, string>) =>
      t.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });

    await expectError(await post('/hooks/people/a', body, {}), 401, 'bad_signature', /X-Syncline-Signature/);
    await expectError(await post('/hooks/people/a', body, { 'x-syncline-signature': signBody('wrong secret', body) }), 401, 'bad_signature');
    await expectError(await post('/hooks/people/a', body, { 'x-syncline-signature': signBody(SECRET, event(2)) }), 401, 'bad_signature');
    await expectError(await post('/hooks/people/a', body, { 'x-syncline-signature': 'sha256=zz' }), 401, 'bad_signature');
    await expectError(await post('/hooks/people/a', body, { 'x-syncline-signature': signBody(SECRET, body).replace('sha256=', 'sha1=') }), 401, 'bad_signature');

    await expectError(await t.hook('people', 'a', '{"type":'), 400, 'invalid_event', /not JSON/);
    await expectError(await t.hook('people', 'a', '{"type":"change","id":"1"}'), 400, 'invalid_event', /upsert/);
    await expectError(await t.hook('people', 'a', '{"type":"upsert","id":""}'), 400, 'invalid_event', /record id/);
    await expectError(await t.hook('people', 'a', '{"type":"upsert"}'), 400, 'invalid_event');
    await expectError(await t.hook('people', 'a', `[${event(1)}, 5]`), 400, 'invalid_event', /\[1\]/);
    await expectError(await t.hook('people', 'a', '"upsert"'), 400, 'invalid_event');
    await expectError(await t.hook('people', 'a', body, { 'x-syncline-delivery': 'd'.repeat(300) }), 400, 'invalid_delivery_id');

    const huge = JSON.stringify([{ type: 'upsert', id: 'x'.repeat(1024 * 1024) }]);
    await expectError(await t.hook('people', 'a', huge), 413, 'payload_too_large');

    await expectError(await t.hook('ghost', 'a', body), 404, 'not_found');
    await expectError(await t.hook('people', 'nobody', body), 404, 'not_found');
    await expectError(await t.hook('people', 'b', body), 404, 'not_found');
    await expectError(await t.hook('people', 'map', body), 404, 'not_found');
    expect((await t.request('/hooks/people/a', { method: 'GET' })).status).toBe(404);

    await t.post('/api/flows/people/pause');
    const paused = await t.snapshot();
    await expectError(await t.hook('people', 'a', body), 409, 'flow_paused', /deploy/);
    expect(await t.snapshot()).toBe(paused);
    await t.post('/api/flows/people/deploy');

    await t.request('/api/credentials/hook-secret', { method: 'DELETE', headers: auth });
    const withoutSecret = await t.snapshot();
    await expectError(await t.hook('people', 'a', body), 503, 'secret_missing');
    expect(await t.snapshot()).toBe(withoutSecret);
    expect(before).not.toBe(paused);
  });

  it('keeps the events of a pass that failed and processes them once it can', async () => {
    t = await testRuntime();
    await deployPeople(t);
    const id = upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    renameSync(join(t.dir, 'b.db'), join(t.dir, 'b.moved'));
    expect((await t.hook('people', 'a', event(id))).status).toBe(202);
    await eventually(async () => {
      const runs = await t.db.selectFrom('runs').select('status').execute();
      expect(runs.map((run) => run.status)).toContain('failed');
    });
    expect(await unprocessedEvents(t)).toBe(1);
    renameSync(join(t.dir, 'b.moved'), join(t.dir, 'b.db'));
    await eventually(() => expect(contacts(t.dir)).toHaveLength(1));
    await eventually(async () => expect(await unprocessedEvents(t)).toBe(0));
  });

  it('picks up events left unprocessed by an earlier process', async () => {
    t = await testRuntime();
    await deployPeople(t);
    const id = upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    await t.inbox
      .insertInto('webhook_events')
      .values({ flow_id: 'people', node_id: 'a', record_id: String(id), type: 'upsert', delivery_id: null, received_at: new Date().toISOString(), processed_at: null })
      .execute();
    await t.runtime.start();
    await eventually(() => expect(contacts(t.dir)).toHaveLength(1));
    await eventually(async () => expect(await unprocessedEvents(t)).toBe(0));
  });

  it('deletes a removed flow’s events and delivery ids from the inbox, and no other flow’s', async () => {
    t = await testRuntime();
    await deployPeople(t);
    await deployPeople(t, peopleFlow({ id: 'other' }));
    // Paused before its pass, the flow keeps its event pending: it is removed with work still waiting.
    const release = await holdFlow(t.runtime, 'people');
    expect((await t.hook('people', 'a', event(1), { 'x-syncline-delivery': 'delivery-1' })).status).toBe(202);
    expect((await t.hook('other', 'a', event(2), { 'x-syncline-delivery': 'delivery-1' })).status).toBe(202);
    await t.post('/api/flows/people/pause');
    await release();
    await t.runtime.deps.worker.idle();
    const rowsOf = async (flowId: string) => ({
      events: (await t.inbox.selectFrom('webhook_events').select('record_id').where('flow_id', '=', flowId).execute()).length,
      deliveries: (await t.inbox.selectFrom('webhook_deliveries').select('delivery_id').where('flow_id', '=', flowId).execute()).length,
    });
    expect(await rowsOf('people')).toEqual({ events: 1, deliveries: 1 });

    expect((await t.request('/api/flows/people', { method: 'DELETE', headers: auth })).status).toBe(204);

    expect(await rowsOf('people')).toEqual({ events: 0, deliveries: 0 });
    expect(await rowsOf('other')).toEqual({ events: 1, deliveries: 1 });
    // A new flow of the same id starts afresh: the old delivery id is not held against it.
    await deployPeople(t);
    expect(await (await t.hook('people', 'a', event(1), { 'x-syncline-delivery': 'delivery-1' })).json()).toEqual({ accepted: 1, duplicate: false });
  });

  it('writes nothing to the databases for a paused flow’s stored events until it is deployed again', async () => {
    t = await testRuntime();
    await deployPeople(t);
    const id = upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const release = await holdFlow(t.runtime, 'people');
    expect((await t.hook('people', 'a', event(id))).status).toBe(202);
    await t.post('/api/flows/people/pause');
    await release();
    await t.runtime.deps.worker.idle();
    expect(contacts(t.dir)).toEqual([]);
    expect(await unprocessedEvents(t)).toBe(1);
    await t.post('/api/flows/people/deploy');
    await eventually(() => expect(contacts(t.dir)).toHaveLength(1));
  });
});
