import { afterEach, describe, expect, it } from 'vitest';
import type { ZendeskFake } from '../../../test/fakes/zendesk/server';
import type { Connector, SourceRecord, WriteOp, WriteResult } from '../types';
import { contextFor, fakeTime, recordingFetch, startFake, type SentRequest } from './fakeAccount';
import { openZendesk } from './index';

// Writes as Zendesk takes them: inside the {"ticket": …} envelope, custom fields as [{id, value}], the requester by
// email, conditional with safe_update, and Zendesk's refusals passed on as they are.

let fake: ZendeskFake;
let connector: Connector | undefined;
let sent: SentRequest[];
let fields: { product: number; score: number; vip: number; seats: number; areas: number; plain: number };

afterEach(async () => {
  await connector?.close();
  connector = undefined;
  await fake.close();
});

async function open(): Promise<Connector> {
  fake = await startFake();
  fields = {
    product: Number(fake.seedTicketField({ type: 'text', title: 'Product' }).id),
    score: Number(fake.seedTicketField({ type: 'decimal', title: 'Score' }).id),
    vip: Number(fake.seedTicketField({ type: 'checkbox', title: 'VIP' }).id),
    seats: Number(fake.seedTicketField({ type: 'integer', title: 'Seats' }).id),
    areas: Number(fake.seedTicketField({ type: 'multiselect', title: 'Areas', options: [{ name: 'Billing', value: 'billing' }, { name: 'Login', value: 'login' }] }).id),
    plain: Number(fake.seedTicketField({ type: 'text', title: 'Not named in the connection' }).id),
  };
  const recording = recordingFetch();
  sent = recording.sent;
  const { plain: _plain, ...named } = fields;
  connector = await openZendesk(contextFor(fake, 'tickets', { customFields: named }), { ...fakeTime(fake), fetch: recording.fetch });
  return connector;
}

async function writeOne(op: WriteOp): Promise<WriteResult> {
  const [result] = await (connector as Connector).write([op]);
  return result as WriteResult;
}

async function read(id: string): Promise<SourceRecord> {
  const record = (await (connector as Connector).getMany([id])).get(id);
  if (!record) throw new Error(`ticket ${id} not read`);
  return record;
}

const writes = (): SentRequest[] => sent.filter((request) => request.method !== 'GET');

describe('the envelope', () => {
  it('sends every write inside {"ticket": …}, where a bare body would be answered 200 and change nothing', async () => {
    await open();
    const id = Number(fake.seedTicket({ subject: 'Old subject', description: 'x' }).id);
    // Zendesk's quirk, first-hand: the same change without the envelope is accepted and ignored.
    const bare = await fetch(`${fake.url}/api/v2/tickets/${id}.json`, {
      method: 'PUT',
      headers: { authorization: fake.auth.apiToken, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'New subject' }),
    });
    expect(bare.status).toBe(200);
    expect(bare.headers.get('x-zendesk-api-warn')).toContain('Removed restricted keys ["subject"]');
    expect(fake.ticket(id).subject).toBe('Old subject');

    fake.clock.advance(1);
    expect(await writeOne({ kind: 'update', id: String(id), fields: { subject: 'New subject' }, tag: 'syncline:f:1', expectedVersion: null })).toMatchObject({ ok: true, id: String(id) });
    expect(fake.ticket(id).subject).toBe('New subject');
    expect(writes().at(-1)?.body).toEqual({ ticket: { subject: 'New subject' } });

    const created = await writeOne({ kind: 'create', fields: { subject: 'Created', priority: 'high' }, tag: 'syncline:f:2' });
    expect(writes().at(-1)?.body).toEqual({ ticket: { subject: 'Created', priority: 'high', comment: { body: 'Created' } } });
    expect(fake.ticket(Number((created as { id: string }).id))).toMatchObject({ subject: 'Created', priority: 'high' });
  });
});

describe('custom fields and the requester', () => {
  it('create with a requester email and custom fields, and read them back typed', async () => {
    await open();
    const result = await writeOne({
      kind: 'create',
      fields: { subject: 'Cannot log in', description: 'Since this morning', requester_email: 'ada@customer.example', product: 'Syncline', score: 4.5, vip: true, seats: 12, areas: ['login', 'billing'], tags: ['vip', 'mobile'] },
      tag: 'syncline:f:1',
    });
    expect(result).toMatchObject({ ok: true });
    const id = (result as { id: string }).id;
    const ticket = fake.ticket(Number(id));
    // A requester Zendesk did not know yet is created as an end user from the email.
    expect(fake.user(Number(ticket.requester_id))).toMatchObject({ email: 'ada@customer.example', name: 'ada', role: 'end-user' });
    expect(ticket.custom_fields).toEqual(
      expect.arrayContaining([
        { id: fields.product, value: 'Syncline' },
        { id: fields.score, value: '4.5' },
        { id: fields.seats, value: '12' },
        { id: fields.vip, value: true },
      ]),
    );

    const record = await read(id);
    expect(record.fields).toMatchObject({
      subject: 'Cannot log in',
      description: 'Since this morning',
      status: 'new',
      requester_email: 'ada@customer.example',
      // The multi-select's option tags are on the ticket too, as its value: not among the tags read.
      tags: ['mobile', 'vip'],
      product: 'Syncline',
      score: 4.5,
      vip: true,
      seats: 12,
      areas: ['billing', 'login'],
      // A field the connection does not name goes by its id.
      [`custom_fields.${fields.plain}`]: null,
    });
    const described = (await (connector as Connector).describe()).find((collection) => collection.name === 'tickets');
    expect(described?.fields).toEqual(expect.arrayContaining([{ name: 'score', type: 'number', nullable: true }, { name: 'vip', type: 'boolean', nullable: false }, { name: `custom_fields.${fields.plain}`, type: 'string', nullable: true }]));
  });

  it('sends only the custom fields being written, as [{id, value}]', async () => {
    await open();
    const id = String(fake.seedTicket({ subject: 'S', description: 'D', custom_fields: [{ id: fields.product, value: 'Old' }, { id: fields.score, value: 1 }] }).id);
    const before = await read(id);
    fake.clock.advance(1);
    const result = await writeOne({ kind: 'update', id, fields: { score: 7, [`custom_fields.${fields.plain}`]: 'by id' }, tag: 'syncline:f:1', expectedVersion: before.version });
    expect(result).toMatchObject({ ok: true });
    expect(writes().at(-1)?.body).toEqual({
      ticket: { custom_fields: [{ id: fields.score, value: 7 }, { id: fields.plain, value: 'by id' }], safe_update: true, updated_stamp: before.version },
    });
    expect((await read(id)).fields).toMatchObject({ product: 'Old', score: 7, [`custom_fields.${fields.plain}`]: 'by id' });
  });

  it('changes the requester by email, and looks requesters up a hundred at a time, not one request per ticket', async () => {
    await open();
    const requesters = [0, 1, 2].map((i) => Number(fake.seedUser({ name: `Customer ${i}`, email: `customer${i}@example.com` }).id));
    const ids = [0, 1, 2, 3, 4].map((i) => String(fake.seedTicket({ subject: `T${i}`, description: 'x', requester_id: requesters[i % 3] }).id));
    const shown = fake.countRequests('GET /api/v2/users/show_many');
    const records = await (connector as Connector).getMany(ids);
    expect(ids.map((id) => records.get(id)?.fields.requester_email)).toEqual(['customer0@example.com', 'customer1@example.com', 'customer2@example.com', 'customer0@example.com', 'customer1@example.com']);
    expect(fake.countRequests('GET /api/v2/users/show_many') - shown).toBe(1);

    fake.clock.advance(1);
    expect(await writeOne({ kind: 'update', id: ids[0] as string, fields: { requester_email: 'customer2@example.com' }, tag: 'syncline:f:1', expectedVersion: null })).toMatchObject({ ok: true });
    expect(fake.ticket(Number(ids[0])).requester_id).toBe(requesters[2]);
    expect(await writeOne({ kind: 'update', id: ids[0] as string, fields: { requester_email: null }, tag: 'syncline:f:2', expectedVersion: null })).toMatchObject({ ok: false, reason: 'failed', retryable: false });
  });
});

describe('drop-down, multi-select and checkbox fields, which Zendesk keeps as tags', () => {
  // Each option's tag and a checkbox's tag sit in the ticket's `tags` while set, and leave it, clearing the field,
  // when a write of `tags` lacks them (test/fakes/zendesk/fieldTags.ts).
  let plan: number;
  let escalated: number;

  async function openTagged(): Promise<Connector> {
    await open();
    // Not named in the connection: a flow that never maps it must not clear it either.
    plan = Number(fake.seedTicketField({ type: 'tagger', title: 'Plan', options: [{ name: 'Gold', value: 'plan_gold' }, { name: 'Silver', value: 'plan_silver' }] }).id);
    escalated = Number(fake.seedTicketField({ type: 'checkbox', title: 'Escalated', tag: 'escalated' }).id);
    return connector as Connector;
  }

  const seedTagged = (): string =>
    String(fake.seedTicket({ subject: 'S', description: 'x', tags: ['printer'], custom_fields: [{ id: plan, value: 'plan_gold' }, { id: fields.areas, value: ['login'] }, { id: escalated, value: true }] }).id);
  const valueOf = (id: string, field: number): unknown => fake.account.tickets.get(Number(id))?.customFields.get(field);
  const tagsOf = (id: string): string[] => [...(fake.account.tickets.get(Number(id))?.tags ?? [])].sort();

  it('reads tags without the fields\' tags, which read as the fields', async () => {
    await openTagged();
    const id = seedTagged();
    expect(tagsOf(id)).toEqual(['escalated', 'login', 'plan_gold', 'printer']);
    expect((await read(id)).fields).toMatchObject({ tags: ['printer'], [`custom_fields.${plan}`]: 'plan_gold', areas: ['login'], [`custom_fields.${escalated}`]: true });
  });

  it('writes tags without clearing the fields, by writing back the tags they hold', async () => {
    await openTagged();
    const id = seedTagged();
    const before = await read(id);
    fake.clock.advance(1);
    expect(await writeOne({ kind: 'update', id, fields: { tags: ['urgent'] }, tag: 'syncline:f:1', expectedVersion: before.version })).toMatchObject({ ok: true });
    expect([valueOf(id, plan), valueOf(id, fields.areas), valueOf(id, escalated)]).toEqual(['plan_gold', ['login'], true]);
    expect(tagsOf(id)).toEqual(['escalated', 'login', 'plan_gold', 'urgent']);
    expect(writes().at(-1)?.body).toEqual({ ticket: { tags: ['urgent', 'escalated', 'login', 'plan_gold'], safe_update: true, updated_stamp: before.version } });
    expect((await read(id)).fields.tags).toEqual(['urgent']);
  });

  it('writes the tags of the values written with them, and never a field\'s tag from among the flow\'s tags', async () => {
    await openTagged();
    const id = seedTagged();
    fake.clock.advance(1);
    const update = { tags: ['urgent', 'plan_gold', 'billing'], [`custom_fields.${plan}`]: 'plan_silver', [`custom_fields.${escalated}`]: false };
    expect(await writeOne({ kind: 'update', id, fields: update, tag: 'syncline:f:1', expectedVersion: null })).toMatchObject({ ok: true });
    expect([valueOf(id, plan), valueOf(id, fields.areas), valueOf(id, escalated)]).toEqual(['plan_silver', ['login'], false]);
    expect(tagsOf(id)).toEqual(['login', 'plan_silver', 'urgent']);

    const created = await writeOne({ kind: 'create', fields: { subject: 'New', tags: ['new', 'login'], areas: ['billing'] }, tag: 'syncline:f:2' });
    const createdId = (created as { id: string }).id;
    expect(valueOf(createdId, fields.areas)).toEqual(['billing']);
    expect((await read(createdId)).fields).toMatchObject({ tags: ['new'], areas: ['billing'] });
  });

  it('answers changed, writing nothing, when the ticket read for its tags has moved on', async () => {
    await openTagged();
    const id = seedTagged();
    const before = await read(id);
    fake.clock.advance(1);
    fake.agentUpdateTicket(Number(id), { custom_fields: [{ id: plan, value: 'plan_silver' }] });
    expect(await writeOne({ kind: 'update', id, fields: { tags: ['urgent'] }, tag: 'syncline:f:1', expectedVersion: before.version })).toEqual({ ok: false, reason: 'changed' });
    expect(writes()).toEqual([]);
    expect(valueOf(id, plan)).toBe('plan_silver');
  });
});

describe("what Zendesk refuses, and what the connector refuses before asking", () => {
  it('refuses to change a description, which Zendesk keeps as the first comment, without sending anything', async () => {
    await open();
    const created = await writeOne({ kind: 'create', fields: { subject: 'S', description: 'The first words' }, tag: 'syncline:f:1' });
    const id = (created as { id: string }).id;
    expect((await read(id)).fields.description).toBe('The first words');
    const before = writes().length;
    const result = await writeOne({ kind: 'update', id, fields: { subject: 'S2', description: 'Other words' }, tag: 'syncline:f:2', expectedVersion: null });
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining("description as its first comment") });
    expect(writes()).toHaveLength(before);
    expect(fake.ticket(Number(id))).toMatchObject({ subject: 'S', description: 'The first words' });
  });

  it('passes on that a closed ticket cannot change, as a failure not worth retrying', async () => {
    await open();
    const id = String(fake.seedTicket({ subject: 'Done', description: 'x', status: 'closed' }).id);
    const result = await writeOne({ kind: 'update', id, fields: { subject: 'Reopen?' }, tag: 'syncline:f:1', expectedVersion: null });
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false });
    expect((result as { message: string }).message).toContain('closed');
    expect((result as { message: string }).message).toContain('Status: closed prevents ticket update');
  });

  it("passes on Zendesk's validation errors, and refuses fields tickets do not have", async () => {
    await open();
    const id = String(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    const invalid = await writeOne({ kind: 'update', id, fields: { priority: 'whenever' }, tag: 'syncline:f:1', expectedVersion: null });
    expect(invalid).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('Priority: whenever is not valid') });
    const unknown = await writeOne({ kind: 'update', id, fields: { colour: 'red' }, tag: 'syncline:f:2', expectedVersion: null });
    expect(unknown).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('colour is not a field of Zendesk tickets') });
  });

  it('refuses to set a ticket that has left new back to new, naming the rule and what to do, without sending the update', async () => {
    await open();
    const id = String(fake.seedTicket({ subject: 'S', description: 'x', status: 'open' }).id);
    const result = await writeOne({ kind: 'update', id, fields: { subject: 'S2', status: 'new' }, tag: 'syncline:f:1', expectedVersion: null });
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false });
    const message = (result as { message: string }).message;
    expect(message).toContain(`status: ticket ${id} is open, and Zendesk never sets a ticket back to new`);
    expect(message).toContain('map the other system');
    expect(writes()).toEqual([]);
    expect(fake.ticket(Number(id))).toMatchObject({ subject: 'S', status: 'open' });

    // A ticket still new takes it, conditional on the version read for it.
    const fresh = String(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    fake.clock.advance(1);
    expect(await writeOne({ kind: 'update', id: fresh, fields: { subject: 'S2', status: 'new' }, tag: 'syncline:f:2', expectedVersion: null })).toMatchObject({ ok: true });
    expect(writes().at(-1)?.body).toEqual({ ticket: { subject: 'S2', status: 'new', safe_update: true, updated_stamp: fake.ticket(Number(fresh)).created_at } });
    // Other statuses are written without reading the ticket first.
    const reads = sent.filter((request) => request.method === 'GET').length;
    expect(await writeOne({ kind: 'update', id, fields: { status: 'pending' }, tag: 'syncline:f:3', expectedVersion: null })).toMatchObject({ ok: true });
    expect(sent.filter((request) => request.method === 'GET')).toHaveLength(reads);
  });

  it('refuses to take a priority away from a ticket that has one, and says both rules when an update breaks both', async () => {
    await open();
    const id = String(fake.seedTicket({ subject: 'S', description: 'x', status: 'pending', priority: 'high' }).id);
    const result = await writeOne({ kind: 'update', id, fields: { priority: null, seats: 3 }, tag: 'syncline:f:1', expectedVersion: null });
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining(`priority: ticket ${id} has priority high, and Zendesk never takes a priority away once set`) });
    const both = await writeOne({ kind: 'update', id, fields: { priority: null, status: 'new' }, tag: 'syncline:f:2', expectedVersion: null });
    expect((both as { message: string }).message).toMatch(/^status: ticket \d+ is pending, .*; priority: ticket \d+ has priority high, /);
    expect(writes()).toEqual([]);
    expect(fake.ticket(Number(id))).toMatchObject({ priority: 'high', status: 'pending', custom_fields: expect.arrayContaining([{ id: fields.seats, value: null }]) });

    // A ticket without a priority takes none; another priority is always taken.
    const none = String(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    expect(await writeOne({ kind: 'update', id: none, fields: { priority: null, seats: 3 }, tag: 'syncline:f:3', expectedVersion: null })).toMatchObject({ ok: true });
    expect(await writeOne({ kind: 'update', id, fields: { priority: 'low' }, tag: 'syncline:f:4', expectedVersion: null })).toMatchObject({ ok: true });
    expect(fake.ticket(Number(id)).priority).toBe('low');
  });

  it('answers changed when the ticket moved on since it was read (safe_update, 409)', async () => {
    await open();
    const id = String(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    const before = await read(id);
    fake.clock.advance(1);
    fake.agentUpdateTicket(Number(id), { priority: 'urgent' });
    expect(await writeOne({ kind: 'update', id, fields: { subject: 'Mine' }, tag: 'syncline:f:1', expectedVersion: before.version })).toEqual({ ok: false, reason: 'changed' });
    expect(fake.ticket(Number(id)).subject).toBe('S');
  });
});

describe("a user's email address", () => {
  async function openUsers(): Promise<Connector> {
    fake = await startFake();
    const recording = recordingFetch();
    sent = recording.sent;
    connector = await openZendesk(contextFor(fake, 'users'), { ...fakeTime(fake), fetch: recording.fetch });
    return connector;
  }
  const emails = (id: number) => fake.account.identities(id).map((identity) => [identity.value, identity.primary]);

  it('changes the primary address through the identities, where Update User would only add a secondary one', async () => {
    await openUsers();
    const id = Number(fake.seedUser({ name: 'Ada', email: 'ada@old.example' }).id);
    const result = await writeOne({ kind: 'update', id: String(id), fields: { email: 'ada@new.example', notes: 'moved' }, tag: 'syncline:f:1', expectedVersion: null });
    expect(result).toMatchObject({ ok: true, id: String(id) });
    expect(emails(id)).toEqual([['ada@new.example', true]]);
    const record = (await (connector as Connector).getMany([String(id)])).get(String(id));
    expect(record?.fields).toMatchObject({ email: 'ada@new.example', notes: 'moved' });
    expect(record?.version).toBe((result as { version: string }).version);
    // The address went to Update Identity, not into Update User's body.
    expect(writes().map((request) => `${request.method} ${request.path}`)).toEqual([`PUT /api/v2/users/${id}/identities/${fake.account.users.get(id)?.emailIdentityId}.json`, `PUT /api/v2/users/${id}.json`]);
    expect(JSON.stringify(writes()[1]?.body)).not.toContain('ada@new.example');
  });

  it('makes an address the user holds already primary, keeping the old one as a secondary address', async () => {
    await openUsers();
    const id = Number(fake.seedUser({ name: 'Grace', email: 'grace@work.example' }).id);
    // Update User adds a secondary address, as Zendesk documents: the primary one does not change.
    await fetch(`${fake.url}/api/v2/users/${id}.json`, { method: 'PUT', headers: { authorization: fake.auth.apiToken, 'content-type': 'application/json' }, body: JSON.stringify({ user: { email: 'grace@home.example' } }) });
    expect(emails(id)).toEqual([['grace@work.example', true], ['grace@home.example', false]]);
    const result = await writeOne({ kind: 'update', id: String(id), fields: { email: 'grace@home.example' }, tag: 'syncline:f:1', expectedVersion: null });
    expect(result).toMatchObject({ ok: true, version: expect.any(String) });
    expect(emails(id)).toEqual([['grace@home.example', true], ['grace@work.example', false]]);
  });

  it("passes on that another user holds the address, as a refusal", async () => {
    await openUsers();
    fake.seedUser({ name: 'Linus', email: 'linus@example.com' });
    const id = Number(fake.seedUser({ name: 'Ken', email: 'ken@example.com' }).id);
    const result = await writeOne({ kind: 'update', id: String(id), fields: { email: 'linus@example.com' }, tag: 'syncline:f:1', expectedVersion: null });
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('already being used by another user') });
    expect(emails(id)).toEqual([['ken@example.com', true]]);
  });
});

describe('user tags on an account with tags on users turned off', () => {
  it('reads users without a tags field, and refuses to write tags rather than lose them', async () => {
    fake = await startFake({ userTagging: false });
    connector = await openZendesk(contextFor(fake, 'users'), fakeTime(fake));
    const id = Number(fake.seedUser({ name: 'Ada', email: 'ada@example.com' }).id);
    // An empty list here would be the other side's tags wiped by the next merge.
    const record = (await connector.getMany([String(id)])).get(String(id));
    expect(record?.fields).toMatchObject({ name: 'Ada', email: 'ada@example.com' });
    expect(record?.fields).not.toHaveProperty('tags');

    const result = await writeOne({ kind: 'update', id: String(id), fields: { tags: ['vip'], notes: 'key account' }, tag: 'syncline:f:1', expectedVersion: null });
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('this account has tags on users turned off') });
    expect(fake.account.users.get(id)?.notes).toBeNull();
    // The other fields still go through.
    expect(await writeOne({ kind: 'update', id: String(id), fields: { notes: 'key account' }, tag: 'syncline:f:1', expectedVersion: null })).toMatchObject({ ok: true });
  });
});
