import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readReply, startReceiver, type Receiver, type ReceivedRequest, type Reply } from '../../support/http';
import { startZendeskFake, type ZendeskFake } from './server';

// Every test talks to the fake over real HTTP with global fetch, as a connector would.

async function call(fake: ZendeskFake, method: string, path: string, body?: unknown, auth: string | null = fake.auth.apiToken): Promise<Reply> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (auth !== null) headers.Authorization = auth;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${fake.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return readReply(response);
}

const start = Date.parse('2024-06-03T12:00:00Z');
let fake: ZendeskFake;

beforeEach(async () => {
  fake = await startZendeskFake({ clockStart: start });
});

afterEach(async () => {
  await fake.close();
});

describe('authentication', () => {
  it('accepts an API token, a password and an OAuth bearer token', async () => {
    for (const auth of [fake.auth.apiToken, fake.auth.password, fake.auth.bearer]) {
      const reply = await call(fake, 'GET', '/api/v2/users/me.json', undefined, auth);
      expect(reply.status).toBe(200);
      expect(reply.json.user.email).toBe('admin@example.com');
    }
  });

  it('answers bad credentials with 401 {"error":"Couldn\'t authenticate you"}', async () => {
    const bad = `Basic ${Buffer.from('admin@example.com/token:wrong').toString('base64')}`;
    for (const auth of [bad, null, 'Bearer nope']) {
      const reply = await call(fake, 'GET', '/api/v2/tickets/1.json', undefined, auth);
      expect(reply.status).toBe(401);
      expect(reply.text).toBe('{"error":"Couldn\'t authenticate you"}');
    }
  });

  it('refuses email:password when password access is off', async () => {
    const strict = await startZendeskFake({ passwordAccess: false });
    try {
      expect((await call(strict, 'GET', '/api/v2/ticket_fields', undefined, strict.auth.password)).status).toBe(401);
    } finally {
      await strict.close();
    }
  });

  it('answers /users/me with the anonymous user instead of a 401', async () => {
    const reply = await call(fake, 'GET', '/api/v2/users/me.json', undefined, `Basic ${Buffer.from('admin@example.com/token:wrong').toString('base64')}`);
    expect(reply.status).toBe(200);
    expect(reply.json.user.name).toBe('Anonymous user');
    expect(reply.json.user.id).toBeNull();
  });
});

describe('tickets', () => {
  it('creates a ticket from the envelope: 201, Location, description from the first comment', async () => {
    const reply = await call(fake, 'POST', '/api/v2/tickets.json', {
      ticket: { subject: 'Printer on fire', comment: { body: 'The smoke is very colorful.' }, priority: 'urgent', tags: ['printer'], requester: { name: 'The Customer', email: 'customer@example.com' } },
    });
    expect(reply.status).toBe(201);
    const ticket = reply.json.ticket;
    expect(reply.headers.get('location')).toBe(`${fake.url}/api/v2/tickets/${ticket.id}.json`);
    expect(ticket).toMatchObject({ subject: 'Printer on fire', raw_subject: 'Printer on fire', description: 'The smoke is very colorful.', status: 'new', priority: 'urgent', tags: ['printer'], url: `${fake.url}/api/v2/tickets/${ticket.id}.json` });
    expect(ticket.created_at).toBe('2024-06-03T12:00:00Z');
    expect(ticket.updated_at).toBe('2024-06-03T12:00:00Z');
    expect(ticket.generated_timestamp).toBe(start / 1000);
    expect(reply.json.audit.events.map((event: { type: string }) => event.type)).toContain('Comment');
    // The requester {name, email} became an end user.
    const requester = await call(fake, 'GET', `/api/v2/users/${ticket.requester_id}.json`);
    expect(requester.json.user).toMatchObject({ name: 'The Customer', email: 'customer@example.com', role: 'end-user' });
  });

  it('returns the keys of a recorded Show Ticket response', async () => {
    const created = fake.seedTicket({ subject: 'Shape', comment: { body: 'body' } });
    const reply = await call(fake, 'GET', `/api/v2/tickets/${created.id as number}`);
    // Keys of nukosuke/go-zendesk fixture/GET/ticket.json (a recorded response) plus generated_timestamp and
    // from_messaging_channel from the docs' example; the fixture's satisfaction_probability and
    // custom_status_id belong to features the fake doesn't model.
    const recorded = [
      'url', 'id', 'external_id', 'via', 'created_at', 'updated_at', 'type', 'subject', 'raw_subject', 'description', 'priority', 'status', 'recipient', 'requester_id', 'submitter_id',
      'assignee_id', 'organization_id', 'group_id', 'collaborator_ids', 'follower_ids', 'email_cc_ids', 'forum_topic_id', 'problem_id', 'has_incidents', 'is_public', 'due_at', 'tags',
      'custom_fields', 'satisfaction_rating', 'sharing_agreement_ids', 'fields', 'followup_ids', 'ticket_form_id', 'brand_id', 'allow_channelback', 'allow_attachments',
    ];
    expect(Object.keys(reply.json.ticket).sort()).toEqual([...recorded, 'generated_timestamp', 'from_messaging_channel'].sort());
  });

  it('answers an unknown ticket with 404 RecordNotFound', async () => {
    const reply = await call(fake, 'GET', '/api/v2/tickets/999.json');
    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({ error: 'RecordNotFound', description: 'Not found' });
  });

  it('shows many tickets, skipping ids that do not exist', async () => {
    const a = fake.seedTicket({ subject: 'a', comment: { body: 'a' } });
    const b = fake.seedTicket({ subject: 'b', comment: { body: 'b' } });
    const reply = await call(fake, 'GET', `/api/v2/tickets/show_many.json?ids=${a.id as number},404,${b.id as number}`);
    expect(reply.json.tickets.map((ticket: { subject: string }) => ticket.subject)).toEqual(['a', 'b']);
  });

  it('starts an assigned ticket as open', async () => {
    const reply = await call(fake, 'POST', '/api/v2/tickets', { ticket: { subject: 's', comment: { body: 'b' }, assignee_id: fake.agent.id } });
    expect(reply.json.ticket.status).toBe('open');
  });

  it('rejects a create without the envelope: keys dropped with a warning, then "Description: cannot be blank"', async () => {
    const reply = await call(fake, 'POST', '/api/v2/tickets.json', { subject: 'No envelope', comment: { body: 'lost' } });
    expect(reply.status).toBe(422);
    expect(reply.headers.get('x-zendesk-api-warn')).toBe('Removed restricted keys ["subject", "comment"] from parameters according to whitelist');
    expect(reply.json).toMatchObject({ error: 'RecordInvalid', description: 'Record validation errors', details: { base: [{ description: 'Description: cannot be blank', error: 'BlankValue', ticket_field_type: 'FieldDescription' }] } });
    expect(fake.account.tickets.size).toBe(0);
  });

  it('answers 200 to an update without the envelope and changes nothing', async () => {
    const seeded = fake.seedTicket({ subject: 'Before', comment: { body: 'x' } });
    fake.clock.advance(120);
    const reply = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}.json`, { subject: 'After', status: 'solved' });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-zendesk-api-warn')).toContain('"subject", "status"');
    expect(reply.json.ticket).toMatchObject({ subject: 'Before', status: 'new', updated_at: seeded.updated_at });
  });

  it('drops an id inside the envelope with a "ticket.id" warning', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    const reply = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { id: 77, subject: 'y' } });
    expect(reply.headers.get('x-zendesk-api-warn')).toBe('Removed restricted keys ["ticket.id"] from parameters according to whitelist');
    expect(reply.json.ticket).toMatchObject({ id: seeded.id, subject: 'y' });
  });

  it('adds a comment on update, keeps the description, bumps updated_at; a no-op update does not', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'first' } });
    fake.clock.advance(30);
    const reply = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { comment: { body: 'second', public: false }, description: 'ignored' } });
    expect(reply.json.ticket.description).toBe('first');
    expect(reply.json.ticket.updated_at).toBe('2024-06-03T12:00:30Z');
    const comments = await call(fake, 'GET', `/api/v2/tickets/${seeded.id as number}/comments.json`);
    expect(comments.json.comments.map((comment: { body: string; public: boolean }) => [comment.body, comment.public])).toEqual([['first', true], ['second', false]]);
    fake.clock.advance(30);
    const noop = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'x' } });
    expect(noop.json.ticket.updated_at).toBe('2024-06-03T12:00:30Z');
  });

  it('refuses to update a closed ticket with 422 "Status: closed prevents ticket update"', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' }, status: 'closed' });
    const reply = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { status: 'open' } });
    expect(reply.status).toBe(422);
    expect(reply.json).toEqual({ error: 'RecordInvalid', description: 'Record validation errors', details: { status: [{ description: 'Status: closed prevents ticket update', error: 'ClosedTicket' }] } });
  });

  it('rejects an invalid priority with 422 RecordInvalid', async () => {
    const reply = await call(fake, 'POST', '/api/v2/tickets', { ticket: { comment: { body: 'x' }, priority: 'asap' } });
    expect(reply.status).toBe(422);
    expect(reply.json.error).toBe('RecordInvalid');
  });

  it('never sets a ticket that has left new back to new: 200, the status kept ("About native system ticket rules")', async () => {
    const fresh = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    fake.clock.advance(10);
    // A new ticket may be written "new"; it changes nothing.
    const same = await call(fake, 'PUT', `/api/v2/tickets/${fresh.id as number}`, { ticket: { status: 'new' } });
    expect(same.json.ticket).toMatchObject({ status: 'new', updated_at: fresh.updated_at });
    const opened = await call(fake, 'PUT', `/api/v2/tickets/${fresh.id as number}`, { ticket: { status: 'open' } });
    expect(opened.json.ticket).toMatchObject({ status: 'open', updated_at: '2024-06-03T12:00:10Z' });
    fake.clock.advance(10);
    const back = await call(fake, 'PUT', `/api/v2/tickets/${fresh.id as number}`, { ticket: { status: 'new', subject: 'y' } });
    expect(back.status).toBe(200);
    // The rest of the update is applied.
    expect(back.json.ticket).toMatchObject({ status: 'open', subject: 'y', updated_at: '2024-06-03T12:00:20Z' });
    expect((await call(fake, 'PUT', `/api/v2/tickets/${fresh.id as number}`, { ticket: { status: 'pending' } })).json.ticket.status).toBe('pending');
  });

  it('never takes a priority away once set: null answers 200 and keeps it; another priority is taken', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' }, priority: 'high' });
    fake.clock.advance(10);
    const cleared = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { priority: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.json.ticket).toMatchObject({ priority: 'high', updated_at: seeded.updated_at });
    expect((await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { priority: 'low' } })).json.ticket.priority).toBe('low');
    const none = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    expect((await call(fake, 'PUT', `/api/v2/tickets/${none.id as number}`, { ticket: { priority: null } })).json.ticket.priority).toBeNull();
  });

  it('lists every custom field on a ticket and stores values by field id', async () => {
    const field = fake.seedTicketField({ type: 'text', title: 'Order number' });
    const dropdown = fake.seedTicketField({ type: 'tagger', title: 'Plan', options: [{ name: 'Gold', value: 'plan_gold' }] });
    const created = await call(fake, 'POST', '/api/v2/tickets', { ticket: { comment: { body: 'x' }, custom_fields: [{ id: field.id, value: 745 }] } });
    expect(created.json.ticket.custom_fields).toEqual([
      { id: field.id, value: '745' },
      { id: dropdown.id, value: null },
    ]);
    const updated = await call(fake, 'PUT', `/api/v2/tickets/${created.json.ticket.id as number}`, { ticket: { custom_fields: [{ id: dropdown.id, value: 'plan_gold' }] } });
    expect(updated.json.ticket.fields).toEqual([
      { id: field.id, value: '745' },
      { id: dropdown.id, value: 'plan_gold' },
    ]);
    const bad = await call(fake, 'PUT', `/api/v2/tickets/${created.json.ticket.id as number}`, { ticket: { custom_fields: [{ id: dropdown.id, value: 'plan_tin' }] } });
    expect(bad.status).toBe(422);
    const fields = await call(fake, 'GET', '/api/v2/ticket_fields.json');
    expect(fields.json.ticket_fields.map((entry: { type: string }) => entry.type)).toEqual(['subject', 'description', 'status', 'tickettype', 'priority', 'group', 'assignee', 'text', 'tagger']);
    expect(fields.json.ticket_fields.at(-1).custom_field_options[0]).toMatchObject({ name: 'Gold', value: 'plan_gold' });
  });
});

describe('drop-down, multi-select and checkbox fields kept as tags ("Understanding tags and ticket fields")', () => {
  let plan: number;
  let areas: number;
  let vip: number;

  beforeEach(() => {
    plan = Number(fake.seedTicketField({ type: 'tagger', title: 'Plan', options: [{ name: 'Gold', value: 'plan_gold' }, { name: 'Silver', value: 'plan_silver' }] }).id);
    areas = Number(fake.seedTicketField({ type: 'multiselect', title: 'Areas', options: [{ name: 'Billing', value: 'area_billing' }, { name: 'Login', value: 'area_login' }] }).id);
    vip = Number(fake.seedTicketField({ type: 'checkbox', title: 'VIP', tag: 'vip_customer' }).id);
  });

  const valueOf = (ticket: { custom_fields: Array<{ id: number; value: unknown }> }, id: number): unknown => ticket.custom_fields.find((entry) => entry.id === id)?.value;
  const sorted = (tags: string[]): string[] => [...tags].sort();

  it('lists each option with its tag as `value`, and a checkbox with its `tag`', async () => {
    const fields = (await call(fake, 'GET', '/api/v2/ticket_fields.json')).json.ticket_fields as Array<Record<string, unknown>>;
    expect(fields.find((field) => field.id === plan)?.custom_field_options).toEqual([expect.objectContaining({ name: 'Gold', value: 'plan_gold' }), expect.objectContaining({ name: 'Silver', value: 'plan_silver' })]);
    expect(fields.find((field) => field.id === vip)).toMatchObject({ type: 'checkbox', tag: 'vip_customer' });
    expect(() => fake.seedTicketField({ type: 'tagger', title: 'Tier', options: [{ name: 'Gold', value: 'plan_gold' }] })).toThrow(/re-used/);
  });

  it('adds the tags of the values written, and swaps them when a value changes', async () => {
    const created = await call(fake, 'POST', '/api/v2/tickets', {
      ticket: { comment: { body: 'x' }, tags: ['printer'], custom_fields: [{ id: plan, value: 'plan_gold' }, { id: areas, value: ['area_login'] }, { id: vip, value: true }] },
    });
    const id = created.json.ticket.id as number;
    expect(sorted(created.json.ticket.tags)).toEqual(['area_login', 'plan_gold', 'printer', 'vip_customer']);
    const changed = await call(fake, 'PUT', `/api/v2/tickets/${id}`, { ticket: { custom_fields: [{ id: plan, value: 'plan_silver' }, { id: vip, value: false }] } });
    expect(sorted(changed.json.ticket.tags)).toEqual(['area_login', 'plan_silver', 'printer']);
  });

  it('clears the fields whose tags a tags write leaves out, and sets those whose tags it adds', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' }, tags: ['printer'], custom_fields: [{ id: plan, value: 'plan_gold' }, { id: areas, value: ['area_billing', 'area_login'] }, { id: vip, value: true }] });
    const id = seeded.id as number;
    const replaced = (await call(fake, 'PUT', `/api/v2/tickets/${id}`, { ticket: { tags: ['printer', 'urgent', 'area_billing'] } })).json.ticket;
    expect(replaced.tags).toEqual(['printer', 'urgent', 'area_billing']);
    expect([valueOf(replaced, plan), valueOf(replaced, areas), valueOf(replaced, vip)]).toEqual([null, ['area_billing'], false]);

    const tagged = (await call(fake, 'PUT', `/api/v2/tickets/${id}`, { ticket: { tags: ['printer', 'plan_silver', 'vip_customer'] } })).json.ticket;
    expect([valueOf(tagged, plan), valueOf(tagged, areas), valueOf(tagged, vip)]).toEqual(['plan_silver', null, true]);
  });

  it("keeps one option of a drop-down: adding another option's tag selects it and drops the first one's", async () => {
    const id = fake.seedTicket({ subject: 'x', comment: { body: 'x' }, custom_fields: [{ id: plan, value: 'plan_gold' }] }).id as number;
    const ticket = (await call(fake, 'PUT', `/api/v2/tickets/${id}`, { ticket: { tags: ['plan_gold', 'plan_silver'] } })).json.ticket;
    expect(ticket.tags).toEqual(['plan_silver']);
    expect(valueOf(ticket, plan)).toBe('plan_silver');
  });

  it('lets the field values win over tags written in the same request', async () => {
    const id = fake.seedTicket({ subject: 'x', comment: { body: 'x' }, custom_fields: [{ id: plan, value: 'plan_gold' }] }).id as number;
    const ticket = (await call(fake, 'PUT', `/api/v2/tickets/${id}`, { ticket: { tags: ['printer'], custom_fields: [{ id: plan, value: 'plan_gold' }] } })).json.ticket;
    expect(sorted(ticket.tags)).toEqual(['plan_gold', 'printer']);
    expect(valueOf(ticket, plan)).toBe('plan_gold');
  });
});

describe('safe updates ("Protecting against ticket update collisions")', () => {
  it('answers 409 when updated_stamp is not the current updated_at, and applies nothing', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    const stamp = seeded.updated_at as string;
    fake.clock.advance(5);
    fake.agentUpdateTicket(seeded.id as number, { priority: 'high' });
    const stale = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'mine', safe_update: true, updated_stamp: stamp } });
    expect(stale.status).toBe(409);
    expect(stale.json.error).toBe('UpdateConflict');
    expect(fake.ticket(seeded.id as number).subject).toBe('x');
    const fresh = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'mine', safe_update: true, updated_stamp: fake.ticket(seeded.id as number).updated_at } });
    expect(fresh.status).toBe(200);
  });

  it('treats safe_update: false like true, and no safe_update as unsafe', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    fake.clock.advance(5);
    fake.agentUpdateTicket(seeded.id as number, { priority: 'high' });
    expect((await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'a', safe_update: false, updated_stamp: seeded.updated_at } })).status).toBe(409);
    expect((await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'a', updated_stamp: seeded.updated_at } })).status).toBe(200);
  });

  it('cannot see a collision within the same second: updated_at has whole seconds', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    fake.clock.advance(1);
    const first = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'first' } });
    fake.agentUpdateTicket(seeded.id as number, { subject: 'agent, same second' });
    const second = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { priority: 'low', safe_update: true, updated_stamp: first.json.ticket.updated_at } });
    expect(second.status).toBe(200);
  });
});

describe('deleting tickets', () => {
  it('soft-deletes: 204, then 404 on the ticket, listed in deleted_tickets, restorable', async () => {
    const seeded = fake.seedTicket({ subject: 'doomed', comment: { body: 'x' }, status: 'pending' });
    fake.clock.advance(10);
    const deleted = await call(fake, 'DELETE', `/api/v2/tickets/${seeded.id as number}.json`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await call(fake, 'GET', `/api/v2/tickets/${seeded.id as number}`)).status).toBe(404);
    expect((await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'x' } })).json.error).toBe('RecordNotFound');
    const list = await call(fake, 'GET', '/api/v2/deleted_tickets.json');
    expect(list.json.deleted_tickets).toEqual([{ id: seeded.id, subject: 'doomed', actor: { id: fake.admin.id, name: 'Fake Admin' }, deleted_at: '2024-06-03T12:00:10Z', previous_state: 'pending' }]);
    const restored = await call(fake, 'PUT', `/api/v2/deleted_tickets/${seeded.id as number}/restore.json`);
    expect(restored.status).toBe(200);
    expect((await call(fake, 'GET', `/api/v2/tickets/${seeded.id as number}`)).json.ticket.status).toBe('pending');
  });

  it('lists deleted tickets 10 times a minute, its own limit in Zendesk-RateLimit-deleted-tickets-index, then 429', async () => {
    fake.clock.set(Date.parse('2024-06-03T12:00:20Z'));
    const first = await call(fake, 'GET', '/api/v2/deleted_tickets.json');
    expect(first.headers.get('zendesk-ratelimit-deleted-tickets-index')).toBe('total=10; remaining=9; resets=40');
    for (let index = 1; index < 10; index++) expect((await call(fake, 'GET', '/api/v2/deleted_tickets.json')).status).toBe(200);
    const limited = await call(fake, 'GET', '/api/v2/deleted_tickets.json');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('40');
    expect(limited.headers.get('zendesk-ratelimit-deleted-tickets-index')).toBe('total=10; remaining=0; resets=40');
    // The account's budget is another: other endpoints go on.
    expect((await call(fake, 'GET', '/api/v2/ticket_fields')).status).toBe(200);
    fake.clock.advance(40);
    expect((await call(fake, 'GET', '/api/v2/deleted_tickets.json')).status).toBe(200);
  });
});

describe('incremental ticket export, cursor based', () => {
  const seedMany = (count: number): void => {
    for (let index = 0; index < count; index++) {
      fake.seedTicket({ subject: `t${index}`, comment: { body: 'x' }, updated_at: new Date(start - 3600_000 + index * 1000).toISOString() });
    }
  };
  const exportPath = (query: string): string => `/api/v2/incremental/tickets/cursor.json?${query}`;

  it('pages with per_page and ends with end_of_stream, then hands back the same after_cursor forever', async () => {
    seedMany(5);
    const first = await call(fake, 'GET', exportPath(`start_time=${start / 1000 - 7200}&per_page=2`));
    expect(first.status).toBe(200);
    expect(Object.keys(first.json).sort()).toEqual(['after_cursor', 'after_url', 'before_cursor', 'before_url', 'end_of_stream', 'tickets']);
    expect(first.json.tickets.map((ticket: { subject: string }) => ticket.subject)).toEqual(['t0', 't1']);
    expect(first.json.end_of_stream).toBe(false);
    expect(first.json.after_url).toBe(`${fake.url}/api/v2/incremental/tickets/cursor.json?cursor=${encodeURIComponent(first.json.after_cursor)}`);
    // The cursor keeps the docs' visible format: base64 of "<timestamp>.0||<id>|".
    expect(Buffer.from(first.json.after_cursor, 'base64').toString()).toMatch(/^\d+\.0\|\|\d+\|$/);

    const second = await call(fake, 'GET', first.json.after_url.replace(fake.url, '') + '&per_page=2');
    const third = await call(fake, 'GET', second.json.after_url.replace(fake.url, '') + '&per_page=2');
    expect(third.json.tickets.map((ticket: { subject: string }) => ticket.subject)).toEqual(['t4']);
    expect(third.json.end_of_stream).toBe(true);
    expect(third.json.after_cursor).not.toBeNull();

    // The quirk: following after_url after end_of_stream returns nothing and the very same cursor.
    let url = third.json.after_url.replace(fake.url, '');
    for (let round = 0; round < 3; round++) {
      const again = await call(fake, 'GET', url);
      expect(again.json).toMatchObject({ tickets: [], end_of_stream: true, after_cursor: third.json.after_cursor });
      url = again.json.after_url.replace(fake.url, '');
    }
  });

  it('picks up later changes from the saved cursor, including a ticket it already exported', async () => {
    seedMany(2);
    const first = await call(fake, 'GET', exportPath(`start_time=${start / 1000 - 7200}`));
    expect(first.json.end_of_stream).toBe(true);
    fake.agentUpdateTicket(first.json.tickets[0].id, { status: 'open' });
    fake.clock.advance(61);
    const next = await call(fake, 'GET', exportPath(`cursor=${encodeURIComponent(first.json.after_cursor)}`));
    expect(next.json.tickets.map((ticket: { subject: string; status: string }) => [ticket.subject, ticket.status])).toEqual([['t0', 'open']]);
  });

  it('leaves out the most recent minute, and the configured lag on top of it', async () => {
    fake.seedTicket({ subject: 'old', comment: { body: 'x' }, updated_at: new Date(start - 600_000).toISOString() });
    fake.seedTicket({ subject: 'just now', comment: { body: 'x' } });
    const since = `start_time=${start / 1000 - 3600}`;
    expect((await call(fake, 'GET', exportPath(since))).json.tickets.map((ticket: { subject: string }) => ticket.subject)).toEqual(['old']);
    fake.clock.advance(60);
    expect((await call(fake, 'GET', exportPath(since))).json.tickets).toHaveLength(2);

    fake.setExportLag(300);
    expect((await call(fake, 'GET', exportPath(since))).json.tickets.map((ticket: { subject: string }) => ticket.subject)).toEqual(['old']);
  });

  it('carries every key of the docs\' example export response (OpenAPI CursorBasedExportIncrementalTicketsResponse)', async () => {
    fake.seedTicket({ subject: 'x', comment: { body: 'x' }, updated_at: new Date(start - 600_000).toISOString() });
    const reply = await call(fake, 'GET', exportPath(`start_time=${start / 1000 - 3600}`));
    const documented = [
      'assignee_id', 'collaborator_ids', 'created_at', 'custom_fields', 'description', 'due_at', 'external_id', 'follower_ids', 'from_messaging_channel', 'generated_timestamp', 'group_id',
      'has_incidents', 'id', 'organization_id', 'priority', 'problem_id', 'raw_subject', 'recipient', 'requester_id', 'satisfaction_rating', 'sharing_agreement_ids', 'status', 'subject',
      'submitter_id', 'tags', 'type', 'updated_at', 'url', 'via',
    ];
    expect(Object.keys(reply.json.tickets[0])).toEqual(expect.arrayContaining(documented));
  });

  it('refuses a start_time within the last minute', async () => {
    const reply = await call(fake, 'GET', exportPath(`start_time=${start / 1000 - 30}`));
    expect(reply.status).toBe(422);
    expect(reply.json.error).toBe('InvalidValue');
  });

  it('returns no cursor when a start_time export finds nothing', async () => {
    const reply = await call(fake, 'GET', exportPath(`start_time=${start / 1000 - 3600}`));
    expect(reply.json).toEqual({ tickets: [], after_url: null, after_cursor: null, before_url: null, before_cursor: null, end_of_stream: true });
  });

  it('streams deleted tickets with status "deleted" unless exclude_deleted=true', async () => {
    const seeded = fake.seedTicket({ subject: 'gone', comment: { body: 'x' }, updated_at: new Date(start - 600_000).toISOString() });
    fake.agentDeleteTicket(seeded.id as number);
    fake.clock.advance(61);
    const since = `start_time=${start / 1000 - 3600}`;
    expect((await call(fake, 'GET', exportPath(since))).json.tickets.map((ticket: { status: string }) => ticket.status)).toEqual(['deleted']);
    expect((await call(fake, 'GET', exportPath(`${since}&exclude_deleted=true`))).json.tickets).toEqual([]);
  });

  it('allows 10 export requests a minute, then 429 with Retry-After and the recorded body', async () => {
    const since = `start_time=${start / 1000 - 3600}`;
    for (let index = 0; index < 10; index++) expect((await call(fake, 'GET', exportPath(since))).status).toBe(200);
    const limited = await call(fake, 'GET', exportPath(since));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(limited.json).toEqual({ error: 'APIRateLimitExceeded', description: 'Number of allowed incremental export API requests per minute exceeded' });
    // Other endpoints are not held back by the export limit.
    expect((await call(fake, 'GET', '/api/v2/ticket_fields')).status).toBe(200);
    fake.clock.advance(60);
    expect((await call(fake, 'GET', exportPath(`start_time=${start / 1000}`))).status).toBe(200);
  });
});

describe('users', () => {
  it('creates, refuses a duplicate email, updates, and shows many', async () => {
    const created = await call(fake, 'POST', '/api/v2/users.json', { user: { name: 'Roger Wilco', email: 'roger@example.org', external_id: 'R-1' } });
    expect(created.status).toBe(201);
    expect(created.json.user).toMatchObject({ name: 'Roger Wilco', email: 'roger@example.org', role: 'end-user', external_id: 'R-1', url: `${fake.url}/api/v2/users/${created.json.user.id as number}.json` });
    const duplicate = await call(fake, 'POST', '/api/v2/users.json', { user: { name: 'Other', email: 'ROGER@example.org' } });
    expect(duplicate.status).toBe(422);
    expect(duplicate.json.details.email[0].error).toBe('DuplicateValue');
    fake.clock.advance(3);
    const updated = await call(fake, 'PUT', `/api/v2/users/${created.json.user.id as number}.json`, { user: { notes: 'VIP' } });
    expect(updated.json.user).toMatchObject({ notes: 'VIP', updated_at: '2024-06-03T12:00:03Z' });
    const many = await call(fake, 'GET', `/api/v2/users/show_many.json?ids=${created.json.user.id as number},1`);
    expect(many.json.users).toHaveLength(1);
    const byExternal = await call(fake, 'GET', '/api/v2/users/show_many.json?external_ids=r-1');
    expect(byExternal.json.users[0].id).toBe(created.json.user.id);
  });

  it('returns the keys of a recorded Show User response', async () => {
    const reply = await call(fake, 'GET', `/api/v2/users/${fake.agent.id as number}.json`);
    // Keys of nukosuke/go-zendesk fixture/GET/user.json, a recorded response.
    const recorded = [
      'id', 'url', 'name', 'email', 'created_at', 'updated_at', 'time_zone', 'iana_time_zone', 'phone', 'shared_phone_number', 'photo', 'locale_id', 'locale', 'organization_id', 'role',
      'verified', 'external_id', 'tags', 'alias', 'active', 'shared', 'shared_agent', 'last_login_at', 'two_factor_auth_enabled', 'signature', 'details', 'notes', 'role_type',
      'custom_role_id', 'moderator', 'ticket_restriction', 'only_private_comments', 'restricted_agent', 'suspended', 'chat_only', 'default_group_id', 'report_csv', 'user_fields',
    ];
    expect(Object.keys(reply.json.user).sort()).toEqual(recorded.sort());
  });

  it('create_or_update matches by email: 201 then 200, with a Location header', async () => {
    const first = await call(fake, 'POST', '/api/v2/users/create_or_update.json', { user: { name: 'Ann', email: 'ann@example.org' } });
    expect(first.status).toBe(201);
    const second = await call(fake, 'POST', '/api/v2/users/create_or_update.json', { user: { name: 'Ann B', email: 'ann@example.org' } });
    expect(second.status).toBe(200);
    expect(second.json.user).toMatchObject({ id: first.json.user.id, name: 'Ann B' });
    expect(second.headers.get('location')).toBe(`/api/v2/users/${first.json.user.id as number}.json`);
  });

  it('searches by partial value and by email:', async () => {
    fake.seedUser({ name: 'Jane Doe', email: 'jdoe@example.org' });
    fake.seedUser({ name: 'John Roe', email: 'jroe@example.org' });
    expect((await call(fake, 'GET', '/api/v2/users/search.json?query=jdoe')).json.users.map((user: { name: string }) => user.name)).toEqual(['Jane Doe']);
    const byEmail = await call(fake, 'GET', `/api/v2/users/search.json?query=${encodeURIComponent('email:jroe@example.org')}`);
    expect(byEmail.json).toMatchObject({ count: 1, next_page: null, previous_page: null });
  });

  it('time-based export: pages past per_page for a shared timestamp, and repeats the last second on the next page', async () => {
    const tie = new Date(start - 600_000).toISOString();
    fake.seedUser({ name: 'a', email: 'a@x.org', updated_at: new Date(start - 700_000).toISOString() });
    fake.seedUser({ name: 'b', email: 'b@x.org', updated_at: tie });
    fake.seedUser({ name: 'c', email: 'c@x.org', updated_at: tie });
    const since = start / 1000 - 650;
    const page = await call(fake, 'GET', `/api/v2/incremental/users.json?start_time=${since}&per_page=1`);
    // b and c share a second: the page holds both although per_page is 1.
    expect(page.json.users.map((user: { name: string }) => user.name)).toEqual(['b', 'c']);
    expect(page.json).toMatchObject({ count: 2, end_time: (start - 600_000) / 1000, end_of_stream: true });
    expect(page.json.next_page).toBe(`${fake.url}/api/v2/incremental/users.json?per_page=1&start_time=${(start - 600_000) / 1000}`);
    const next = await call(fake, 'GET', page.json.next_page.replace(fake.url, ''));
    // start_time is inclusive: the same users come back (the documented duplicates of time-based exports), so a
    // client that pages until `count` is 0 never stops; end_of_stream is the signal.
    expect(next.json.users.map((user: { name: string }) => user.name)).toEqual(['b', 'c']);
    expect(next.json.next_page).toBe(page.json.next_page);
  });

  it('cursor export reports its own limit in Zendesk-RateLimit-incremental-exports-cursor', async () => {
    fake.seedUser({ name: 'old', email: 'old@x.org', updated_at: new Date(start - 600_000).toISOString() });
    const reply = await call(fake, 'GET', `/api/v2/incremental/users/cursor.json?start_time=${start / 1000 - 3600}`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('zendesk-ratelimit-incremental-exports-cursor')).toMatch(/^total=20; remaining=19; resets=\d+$/);
    // The admin and agent were created at the clock's start, inside the excluded minute.
    expect(reply.json.users.map((user: { email: string }) => user.email)).toEqual(['old@x.org']);
    expect(reply.json.end_of_stream).toBe(true);
  });
});

describe('account rate limits', () => {
  it('sends the documented headers and answers 429 with Retry-After past the budget', async () => {
    fake.clock.set(Date.parse('2024-06-03T12:00:19Z'));
    const ok = await call(fake, 'GET', '/api/v2/ticket_fields');
    expect(ok.headers.get('x-rate-limit')).toBe('700');
    expect(ok.headers.get('x-rate-limit-remaining')).toBe('699');
    expect(ok.headers.get('ratelimit-limit')).toBe('700');
    expect(ok.headers.get('ratelimit-remaining')).toBe('699');
    expect(ok.headers.get('ratelimit-reset')).toBe('41');
    fake.setRateLimit(2);
    expect((await call(fake, 'GET', '/api/v2/ticket_fields')).status).toBe(200);
    const limited = await call(fake, 'GET', '/api/v2/ticket_fields');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('41');
    fake.clock.advance(41);
    expect((await call(fake, 'GET', '/api/v2/ticket_fields')).status).toBe(200);
  });

  it('forces 429s on the next N requests', async () => {
    fake.failNextRequests(2, { retryAfter: 7 });
    const first = await call(fake, 'GET', '/api/v2/ticket_fields');
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '7']);
    expect((await call(fake, 'GET', '/api/v2/ticket_fields')).status).toBe(429);
    expect((await call(fake, 'GET', '/api/v2/ticket_fields')).status).toBe(200);
  });

  it('limits updates to one ticket to 30 per 10 minutes per user', async () => {
    const seeded = fake.seedTicket({ subject: 'busy', comment: { body: 'x' } });
    for (let index = 0; index < 30; index++) {
      expect((await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: `v${index}` } })).status).toBe(200);
    }
    const limited = await call(fake, 'PUT', `/api/v2/tickets/${seeded.id as number}`, { ticket: { subject: 'one more' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('counts requests by route', async () => {
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    await call(fake, 'GET', `/api/v2/tickets/${seeded.id as number}.json`);
    await call(fake, 'GET', `/api/v2/tickets/${seeded.id as number}`);
    await call(fake, 'GET', '/api/v2/ticket_fields');
    expect(fake.countRequests('GET /api/v2/tickets/{ticket_id}')).toBe(2);
    expect(fake.countRequests()).toBe(3);
  });
});

describe('webhooks', () => {
  let receiver: Receiver;
  let received: ReceivedRequest[];
  let endpoint: string;
  let answerStatus: number;

  beforeEach(async () => {
    received = [];
    answerStatus = 200;
    receiver = await startReceiver((request) => {
      received.push(request);
      return answerStatus;
    });
    endpoint = `${receiver.origin}/hook`;
  });

  afterEach(async () => {
    await receiver.close();
  });

  const createWebhook = async (subscriptions: string[]): Promise<{ id: string; secret: string }> => {
    const created = await call(fake, 'POST', '/api/v2/webhooks', { webhook: { name: 'Sync', endpoint, http_method: 'POST', request_format: 'json', status: 'active', subscriptions } });
    expect(created.status).toBe(201);
    const secret = await call(fake, 'GET', `/api/v2/webhooks/${created.json.webhook.id as string}/signing_secret`);
    return { id: created.json.webhook.id, secret: secret.json.signing_secret.secret };
  };

  it('creates, shows and deletes a webhook in the recorded shape', async () => {
    const { id } = await createWebhook(['conditional_ticket_events']);
    const shown = await call(fake, 'GET', `/api/v2/webhooks/${id}`);
    // Keys of go-zendesk fixture/GET/webhook.json, less the optional authentication.
    expect(Object.keys(shown.json.webhook).sort()).toEqual(['created_at', 'created_by', 'endpoint', 'http_method', 'id', 'name', 'request_format', 'status', 'subscriptions', 'updated_at', 'updated_by']);
    expect(shown.json.webhook.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect((await call(fake, 'DELETE', `/api/v2/webhooks/${id}`)).status).toBe(204);
    expect((await call(fake, 'GET', `/api/v2/webhooks/${id}`)).status).toBe(404);
  });

  it('delivers a signed ticket event that verifies with node:crypto as the docs describe', async () => {
    const { id, secret } = await createWebhook(['zen:event-type:ticket.status_changed']);
    const seeded = fake.seedTicket({ subject: 'hook me', comment: { body: 'x' } });
    fake.agentUpdateTicket(seeded.id as number, { status: 'pending' });
    await fake.webhooks.idle();
    expect(received).toHaveLength(1);
    const [delivery] = received;
    const timestamp = delivery!.headers['x-zendesk-webhook-signature-timestamp'] as string;
    const signature = delivery!.headers['x-zendesk-webhook-signature'] as string;
    expect(timestamp).toBe('2024-06-03T12:00:00Z');
    // "Verifying webhook authenticity": base64 HMAC-SHA256 over timestamp + raw body, keyed with the secret as given.
    const expected = createHmac('sha256', secret).update(timestamp + delivery!.body).digest('base64');
    expect(timingSafeEqual(Buffer.from(signature), Buffer.from(expected))).toBe(true);
    expect(delivery!.headers['x-zendesk-webhook-id']).toBe(id);
    expect(delivery!.headers['x-zendesk-account-id']).toBe('123456');
    expect(delivery!.headers['x-zendesk-webhook-invocation-id']).toMatch(/^\d+$/);
    const payload = JSON.parse(delivery!.body);
    expect(payload).toMatchObject({
      type: 'zen:event-type:ticket.status_changed',
      account_id: 123456,
      subject: `zen:ticket:${seeded.id as number}`,
      zendesk_event_version: '2022-11-06',
      detail: { id: String(seeded.id), status: 'PENDING', subject: 'hook me', actor_id: String(fake.agent.id) },
      event: { current: 'PENDING', previous: 'NEW', meta: { sequence: { position: 1 } } },
    });
    expect(payload.time).toMatch(/^2024-06-03T12:00:00\.\d{9}Z$/);
    expect(Object.keys(payload).sort()).toEqual(['account_id', 'detail', 'event', 'id', 'subject', 'time', 'type', 'zendesk_event_version']);
  });

  it('fires for API writes too, one invocation per subscribed event type', async () => {
    await createWebhook(['zen:event-type:ticket.created', 'zen:event-type:ticket.comment_added', 'zen:event-type:ticket.priority_changed']);
    const created = await call(fake, 'POST', '/api/v2/tickets', { ticket: { subject: 's', comment: { body: 'x' } } });
    await call(fake, 'PUT', `/api/v2/tickets/${created.json.ticket.id as number}`, { ticket: { priority: 'high', comment: { body: 'more' } } });
    await fake.webhooks.idle();
    expect(received.map((delivery) => JSON.parse(delivery.body).type)).toEqual(['zen:event-type:ticket.created', 'zen:event-type:ticket.priority_changed', 'zen:event-type:ticket.comment_added']);
  });

  it('holds deliveries until released, and redelivers with the same invocation id', async () => {
    await createWebhook(['zen:event-type:ticket.status_changed']);
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    fake.webhooks.hold();
    fake.agentUpdateTicket(seeded.id as number, { status: 'open' });
    fake.agentUpdateTicket(seeded.id as number, { status: 'solved' });
    await fake.webhooks.idle();
    expect(received).toHaveLength(0);
    fake.webhooks.release();
    await fake.webhooks.idle();
    expect(received.map((delivery) => JSON.parse(delivery.body).event.current)).toEqual(['OPEN', 'SOLVED']);
    const first = received[0]!;
    fake.clock.advance(90);
    fake.webhooks.redeliver(first.headers['x-zendesk-webhook-invocation-id'] as string);
    await fake.webhooks.idle();
    const again = received[2]!;
    expect(again.headers['x-zendesk-webhook-invocation-id']).toBe(first.headers['x-zendesk-webhook-invocation-id']);
    expect(again.body).toBe(first.body);
    expect(again.headers['x-zendesk-webhook-signature-timestamp']).toBe('2024-06-03T12:01:30Z');
  });

  it('retries a delivery answered 409 up to three times', async () => {
    await createWebhook(['zen:event-type:ticket.status_changed']);
    answerStatus = 409;
    const seeded = fake.seedTicket({ subject: 'x', comment: { body: 'x' } });
    fake.agentUpdateTicket(seeded.id as number, { status: 'open' });
    await fake.webhooks.idle();
    expect(received).toHaveLength(4);
    expect(fake.webhooks.invocations[0]!.attempts.map((attempt) => attempt.status)).toEqual([409, 409, 409, 409]);
  });

  it('sends a trigger body to a conditional_ticket_events webhook, signed the same way', async () => {
    const { id, secret } = await createWebhook(['conditional_ticket_events']);
    fake.webhooks.fireTrigger(id, { ticket_id: '{{ticket.id}}' });
    await fake.webhooks.idle();
    const delivery = received[0]!;
    expect(delivery.body).toBe('{"ticket_id":"{{ticket.id}}"}');
    const timestamp = delivery.headers['x-zendesk-webhook-signature-timestamp'] as string;
    expect(delivery.headers['x-zendesk-webhook-signature']).toBe(createHmac('sha256', secret).update(timestamp + delivery.body).digest('base64'));
  });
});

describe('tags on users', () => {
  it('leaves tags out of users, and drops tags written to them, while the account has user tagging off', async () => {
    await fake.close();
    fake = await startZendeskFake({ clockStart: start, userTagging: false });
    const created = await call(fake, 'POST', '/api/v2/users.json', { user: { name: 'Ada', email: 'ada@example.com', tags: ['vip'] } });
    expect(created.status).toBe(201);
    expect(created.json.user).not.toHaveProperty('tags');
    const updated = await call(fake, 'PUT', `/api/v2/users/${created.json.user.id}.json`, { user: { tags: ['vip'], notes: 'n' } });
    expect(updated.json.user).toMatchObject({ notes: 'n' });
    expect(updated.json.user).not.toHaveProperty('tags');
    expect(fake.account.users.get(created.json.user.id)?.tags).toEqual([]);
  });
});
