import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import type { Connector, WriteOp } from '../types';
import { contextFor, fakeTime, startFake } from './fakeAccount';
import { openHubSpot } from './index';

// Writes in batches of up to 100, partial properties, and HubSpot's per-input answers (207) mapped to each op.

let fake: HubSpotFake;
let connector: Connector;
const route = (name: string) => `POST /crm/v3/objects/{objectType}/batch/${name}`;
const bodiesOf = (name: string) => fake.requests.filter((entry) => entry.route === route(name)).map((entry) => entry.body as { inputs: Array<Record<string, unknown>> });

beforeEach(async () => {
  fake = await startFake();
  fake.defineProperty('contacts', { name: 'score', label: 'Score', type: 'number', fieldType: 'number' });
  fake.defineProperty('contacts', { name: 'vip', label: 'VIP', type: 'bool', fieldType: 'booleancheckbox' });
  connector = await openHubSpot(contextFor(fake, 'contacts', { properties: 'email, firstname, lastname, score, vip, hs_email_optout' }), fakeTime(fake));
});
afterEach(async () => {
  await connector.close();
  await fake.close();
});

describe('partial properties', () => {
  it('sends only the properties an update carries, as text; null clears one', async () => {
    const id = fake.seed('contacts', { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace', score: '10' });
    fake.clock.advance(5);
    const [result] = await connector.write([{ kind: 'update', id, fields: { properties: { score: 12.5, lastname: null, vip: true } }, tag: 't', expectedVersion: null }]);
    expect(result).toEqual({ ok: true, id, version: '2024-06-03T12:00:00.005Z' });
    expect(bodiesOf('update')).toEqual([{ inputs: [{ id, properties: { score: '12.5', lastname: '', vip: 'true' }, objectWriteTraceId: 'syncline-0' }] }]);
    expect(fake.object('contacts', id)?.properties).toMatchObject({ email: 'ada@example.com', firstname: 'Ada', score: '12.5', vip: 'true' });
    expect(fake.object('contacts', id)?.properties.lastname).toBeUndefined();
    const read = (await connector.getMany([id])).get(id);
    expect(read?.fields).toEqual({ properties: { email: 'ada@example.com', firstname: 'Ada', lastname: null, score: 12.5, vip: true, hs_email_optout: null } });
  });

  it('refuses what HubSpot keeps or the connection does not sync, naming it, and writes the rest', async () => {
    const id = fake.seed('contacts', { email: 'b@example.com' });
    const results = await connector.write([
      { kind: 'update', id, fields: { properties: { hs_object_id: '1' } }, tag: 't', expectedVersion: null },
      { kind: 'update', id, fields: { properties: { lastmodifieddate: '2020-01-01' } }, tag: 't', expectedVersion: null },
      { kind: 'update', id, fields: { properties: { phone: '+1 555' } }, tag: 't', expectedVersion: null },
      { kind: 'update', id, fields: { properties: { hubspotscore: 3 } }, tag: 't', expectedVersion: null },
      { kind: 'update', id, fields: { properties: { hs_email_optout: true } }, tag: 't', expectedVersion: null },
      { kind: 'update', id, fields: { email: 'flat@example.com' }, tag: 't', expectedVersion: null },
      { kind: 'update', id, fields: { properties: { firstname: 'Still written' } }, tag: 't', expectedVersion: null },
    ]);
    expect(results.slice(0, 6).map((result) => (result.ok ? 'ok' : result.reason === 'failed' ? result.message : result.reason))).toEqual([
      expect.stringContaining('properties.hs_object_id'),
      expect.stringContaining('properties.lastmodifieddate'),
      expect.stringContaining('not among connection.properties'),
      expect.stringContaining('properties.hubspotscore'),
      'properties.hs_email_optout (Unsubscribed from all email) is calculated or read-only in HubSpot: it cannot be written',
      expect.stringContaining('properties.email'),
    ]);
    expect(results[6]).toMatchObject({ ok: true, id });
    expect(bodiesOf('update')).toEqual([{ inputs: [{ id, properties: { firstname: 'Still written' }, objectWriteTraceId: 'syncline-6' }] }]);
    expect(fake.object('contacts', id)?.properties.firstname).toBe('Still written');
  });
});

describe('dates and datetimes', () => {
  beforeEach(async () => {
    await connector.close();
    fake.defineProperty('contacts', { name: 'next_call', label: 'Next call', type: 'datetime', fieldType: 'date' });
    fake.defineProperty('contacts', { name: 'renewal', label: 'Renewal date', type: 'date', fieldType: 'date' });
    connector = await openHubSpot(contextFor(fake, 'contacts', { properties: 'email, next_call, renewal' }), fakeTime(fake));
  });

  it('sends a datetime in UTC with milliseconds and a date as YYYY-MM-DD, and reads back exactly what it sent', async () => {
    const id = fake.seed('contacts', { email: 'ada@example.com' });
    const midnight = Date.parse('2024-07-01T00:00:00Z');
    const [result] = await connector.write([{ kind: 'update', id, fields: { properties: { next_call: '2024-06-03T12:00:00+02:00', renewal: midnight } }, tag: 't', expectedVersion: null }]);
    expect(result).toMatchObject({ ok: true, id });
    const sent = { next_call: '2024-06-03T10:00:00.000Z', renewal: '2024-07-01' };
    expect(bodiesOf('update')).toEqual([{ inputs: [{ id, properties: sent, objectWriteTraceId: 'syncline-0' }] }]);
    expect((await connector.getMany([id])).get(id)?.fields).toEqual({ properties: { email: 'ada@example.com', ...sent } });
  });

  it('refuses, for that record only, a date at a time of day and text that is no date, naming the property and the value', async () => {
    const results = await connector.write([
      { kind: 'create', fields: { properties: { email: 'noon@example.com', renewal: '2024-07-01T15:00:00Z' } }, tag: 't' },
      { kind: 'create', fields: { properties: { email: 'local@example.com', renewal: '2024-07-01T00:00:00+02:00' } }, tag: 't' },
      { kind: 'create', fields: { properties: { email: 'words@example.com', next_call: 'tomorrow' } }, tag: 't' },
      { kind: 'create', fields: { properties: { email: 'good@example.com', renewal: '2024-07-01', next_call: '2024-06-03T10:00:00Z' } }, tag: 't' },
    ]);
    expect(results.slice(0, 3)).toEqual([
      refusal('properties.renewal (Renewal date, a date in HubSpot): "2024-07-01T15:00:00Z" is 15:00:00.000 UTC on 2024-07-01, not midnight UTC: HubSpot keeps a date without a time of day, so write the date alone, as YYYY-MM-DD'),
      refusal(expect.stringContaining('"2024-07-01T00:00:00+02:00" is 22:00:00.000 UTC on 2024-06-30, not midnight UTC')),
      refusal(expect.stringContaining('properties.next_call (Next call, a datetime in HubSpot): "tomorrow" is not a date and time')),
    ]);
    expect(results[3]).toMatchObject({ ok: true });
    // Refused before sending: HubSpot got one input, and did not refuse the batch.
    expect(fake.requests.filter((entry) => entry.route === route('create')).map((entry) => [entry.status, entry.inputs])).toEqual([[201, 1]]);
  });
});

const refusal = (message: unknown) => ({ ok: false, reason: 'failed', retryable: false, message });

describe('batches', () => {
  it('creates, updates and archives at most 100 to a request, one result per op, in order', async () => {
    const creates: WriteOp[] = Array.from({ length: 250 }, (_, i) => ({ kind: 'create', fields: { properties: { email: `new${i}@example.com`, score: i } }, tag: 't' }));
    const created = await connector.write(creates);
    expect(bodiesOf('create').map((body) => body.inputs.length)).toEqual([100, 100, 50]);
    // Results come back in no order; each op still gets the record made from it.
    const ids = created.map((result) => (result.ok ? result.id : ''));
    ids.forEach((id, i) => expect(fake.object('contacts', id)?.properties.email).toBe(`new${i}@example.com`));

    const updates: WriteOp[] = ids.map((id, i) => ({ kind: 'update', id, fields: { properties: { firstname: `First ${i}` } }, tag: 't', expectedVersion: null }));
    const updated = await connector.write(updates);
    expect(bodiesOf('update').map((body) => body.inputs.length)).toEqual([100, 100, 50]);
    expect(updated.map((result) => (result.ok ? result.id : null))).toEqual(ids);

    const deletes: WriteOp[] = ids.slice(0, 150).map((id) => ({ kind: 'delete', id, expectedVersion: null }));
    const deleted = await connector.write(deletes);
    expect(deleted.every((result) => result.ok)).toBe(true);
    expect(bodiesOf('archive').map((body) => body.inputs.length)).toEqual([100, 50]);
    expect(fake.requests.filter((entry) => entry.route === route('read')).every((entry) => (entry.inputs ?? 0) <= 100)).toBe(true);
    expect(fake.object('contacts', ids[0] as string)?.archived).toBe(true);
  });

  it('never puts two ops on one id in a batch, and keeps their order', async () => {
    const id = fake.seed('contacts', { email: 'twice@example.com' });
    const results = await connector.write([
      { kind: 'update', id, fields: { properties: { firstname: 'One' } }, tag: 't', expectedVersion: null },
      { kind: 'update', id, fields: { properties: { firstname: 'Two' } }, tag: 't', expectedVersion: null },
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(bodiesOf('update').map((body) => body.inputs.length)).toEqual([1, 1]);
    expect(fake.object('contacts', id)?.properties.firstname).toBe('Two');
  });
});

describe("HubSpot's per-input answers", () => {
  it('maps a 207 to its ops: a refused create fails alone, an id gone in the meantime is missing', async () => {
    const kept = fake.seed('contacts', { email: 'kept@example.com' });
    const archived = fake.seed('contacts', { email: 'archived@example.com' });
    fake.personArchive('contacts', archived);
    const results = await connector.write([
      { kind: 'create', fields: { properties: { email: 'good@example.com' } }, tag: 't' },
      { kind: 'create', fields: { properties: { email: 'bad@example.com', score: 'not a number' } }, tag: 't' },
      { kind: 'create', fields: { properties: { email: 'kept@example.com' } }, tag: 't' },
      { kind: 'create', fields: { properties: { email: 'also-good@example.com' } }, tag: 't' },
      { kind: 'update', id: kept, fields: { properties: { firstname: 'Kept' } }, tag: 't', expectedVersion: null },
      { kind: 'update', id: archived, fields: { properties: { firstname: 'Gone' } }, tag: 't', expectedVersion: null },
    ]);
    expect(fake.requests.filter((entry) => entry.route === route('create')).map((entry) => entry.status)).toEqual([207]);
    expect(fake.requests.filter((entry) => entry.route === route('update')).map((entry) => entry.status)).toEqual([207]);
    expect(results[0]).toMatchObject({ ok: true });
    expect(results[1]).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('INVALID_INTEGER') });
    expect(results[2]).toMatchObject({
      ok: false,
      reason: 'failed',
      retryable: false,
      message: `POST /crm/v3/objects/contacts/batch/create: properties.email "kept@example.com" is already record ${kept}'s in HubSpot (HubSpot: "Contact already exists. Existing ID: ${kept}"), so it was not created: with properties.email among the conflict node's match fields, the next pass links the two instead; or change the email on one of them`,
    });
    expect(results[3]).toMatchObject({ ok: true });
    expect(results[4]).toMatchObject({ ok: true, id: kept });
    expect(results[5]).toEqual({ ok: false, reason: 'missing' });
    const emails = [results[0], results[3]].map((result) => (result?.ok ? fake.object('contacts', result.id)?.properties.email : null));
    expect(emails).toEqual(['good@example.com', 'also-good@example.com']);
  });

  it("fails an update giving a contact another contact's email alone, naming that contact and what to do", async () => {
    const ada = fake.seed('contacts', { email: 'ada@example.com' });
    const bob = fake.seed('contacts', { email: 'bob@example.com' });
    const results = await connector.write([
      { kind: 'update', id: bob, fields: { properties: { email: 'ada@example.com', firstname: 'Bob' } }, tag: 't', expectedVersion: null },
      { kind: 'update', id: ada, fields: { properties: { firstname: 'Ada' } }, tag: 't', expectedVersion: null },
    ]);
    expect(results[0]).toEqual(
      refusal(
        `POST /crm/v3/objects/contacts/batch/update: properties.email "ada@example.com" is already record ${ada}'s in HubSpot (HubSpot: "Contact already exists. Existing ID: ${ada}"), and HubSpot keeps it on one record only: change it on one of the two, or merge the two records in HubSpot, then sync again`,
      ),
    );
    expect(results[1]).toMatchObject({ ok: true, id: ada });
    expect(fake.requests.filter((entry) => entry.route === route('update')).map((entry) => entry.status)).toEqual([207]);
    expect(fake.object('contacts', bob)?.properties).toMatchObject({ email: 'bob@example.com' });
    expect(fake.object('contacts', ada)?.properties.firstname).toBe('Ada');
  });

  it('names the contact holding the email when HubSpot refuses the whole batch for it, after sending each alone', async () => {
    const ada = fake.seed('contacts', { email: 'ada@example.com' });
    const bob = fake.seed('contacts', { email: 'bob@example.com' });
    await connector.describe();
    const conflict = { status: 409, body: { status: 'error', message: `Contact already exists. Existing ID: ${ada}`, correlationId: 'c', category: 'CONFLICT' } };
    fake.limits.failNext(2, conflict);
    const [alone] = await connector.write([{ kind: 'update', id: bob, fields: { properties: { email: 'ada@example.com' } }, tag: 't', expectedVersion: null }]);
    expect(alone).toEqual(refusal(expect.stringContaining(`properties.email "ada@example.com" is already record ${ada}'s in HubSpot`)));
    const results = await connector.write([
      { kind: 'update', id: bob, fields: { properties: { email: 'ada@example.com' } }, tag: 't', expectedVersion: null },
      { kind: 'update', id: ada, fields: { properties: { firstname: 'Ada' } }, tag: 't', expectedVersion: null },
    ]);
    expect(results[0]).toEqual(refusal(expect.stringContaining(`is already record ${ada}'s in HubSpot`)));
    expect(results[1]).toMatchObject({ ok: true, id: ada });
    expect(bodiesOf('update').map((body) => body.inputs.length)).toEqual([1, 2, 1, 1]);
  });

  it('sends a batch HubSpot refused whole again one input at a time', async () => {
    await connector.describe(); // the properties are read first, once
    fake.limits.failNext(1, { status: 400, body: { status: 'error', message: 'Property values were not valid', correlationId: 'c', category: 'VALIDATION_ERROR' } });
    const results = await connector.write([
      { kind: 'create', fields: { properties: { email: 'one@example.com' } }, tag: 't' },
      { kind: 'create', fields: { properties: { email: 'two@example.com' } }, tag: 't' },
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(bodiesOf('create').map((body) => body.inputs.length)).toEqual([2, 1, 1]);
  });

  it('archives a live record, succeeds on an archived one as it is, and finds an unknown id missing', async () => {
    const live = fake.seed('contacts', { email: 'live@example.com' });
    const archived = fake.seed('contacts', { email: 'was@example.com' });
    fake.personArchive('contacts', archived);
    const results = await connector.write([
      { kind: 'delete', id: live, expectedVersion: null },
      { kind: 'delete', id: archived, expectedVersion: null },
      { kind: 'delete', id: '987654321', expectedVersion: null },
      { kind: 'delete', id: 'not-an-id', expectedVersion: null },
    ]);
    expect(results).toEqual([
      { ok: true, id: live, version: null },
      { ok: true, id: archived, version: '2024-06-03T12:00:00.000Z' },
      { ok: false, reason: 'missing' },
      { ok: false, reason: 'missing' },
    ]);
    expect(bodiesOf('archive')).toEqual([{ inputs: [{ id: live }] }]);
    expect((await connector.getMany([live])).get(live)).toMatchObject({ deleted: true });
  });
});

describe('lifecycle stage', () => {
  beforeEach(async () => {
    await connector.close();
    connector = await openHubSpot(contextFor(fake, 'contacts', { properties: 'email, lifecyclestage' }), fakeTime(fake));
  });
  const stage = (id: string, lifecyclestage: string): WriteOp => ({ kind: 'update', id, fields: { properties: { lifecyclestage } }, tag: 't', expectedVersion: null });

  it('moves a stage back by clearing it first, as HubSpot asks, and a stage forward in one request', async () => {
    const back = fake.seed('contacts', { email: 'back@example.com', lifecyclestage: 'customer' });
    const forward = fake.seed('contacts', { email: 'forward@example.com', lifecyclestage: 'lead' });
    fake.clock.advance(5);
    const results = await connector.write([stage(back, 'lead'), stage(forward, 'customer')]);
    expect(results).toEqual([
      { ok: true, id: back, version: '2024-06-03T12:00:00.005Z' },
      { ok: true, id: forward, version: '2024-06-03T12:00:00.005Z' },
    ]);
    expect(bodiesOf('update')).toEqual([
      { inputs: [expect.objectContaining({ id: back, properties: { lifecyclestage: 'lead' } }), expect.objectContaining({ id: forward, properties: { lifecyclestage: 'customer' } })] },
      { inputs: [{ id: back, properties: { lifecyclestage: '' }, objectWriteTraceId: 'syncline-0' }] },
      { inputs: [{ id: back, properties: { lifecyclestage: 'lead' }, objectWriteTraceId: 'syncline-0' }] },
    ]);
    expect([fake.object('contacts', back)?.properties.lifecyclestage, fake.object('contacts', forward)?.properties.lifecyclestage]).toEqual(['lead', 'customer']);
    expect((await connector.getMany([back])).get(back)?.fields).toEqual({ properties: { email: 'back@example.com', lifecyclestage: 'lead' } });
  });

  it('fails the op, naming the stage, when HubSpot keeps its stage even once cleared, rather than writing it every pass', async () => {
    const id = fake.seed('contacts', { email: 'kept@example.com', lifecyclestage: 'customer' });
    await connector.describe();
    // HubSpot's answers when something in the account (a workflow) sets the stage again at once.
    const answer = (lifecyclestage: string) => ({ status: 200, body: { status: 'COMPLETE', results: [{ id, properties: { lifecyclestage }, createdAt: '2024-06-03T12:00:00.000Z', updatedAt: '2024-06-03T12:00:00.000Z', archived: false }] } });
    fake.limits.failNext(1, answer('customer'));
    fake.limits.failNext(1, answer(''));
    fake.limits.failNext(1, answer('customer'));
    const [result] = await connector.write([stage(id, 'lead')]);
    expect(result).toEqual(
      refusal('properties.lifecyclestage: HubSpot kept "customer" even after the stage was cleared and "lead" written again; check what sets it in HubSpot (a workflow, another integration) before syncing this record again'),
    );
    expect(bodiesOf('update').map((body) => body.inputs[0]?.properties)).toEqual([{ lifecyclestage: 'lead' }, { lifecyclestage: '' }, { lifecyclestage: 'lead' }]);
  });
});
