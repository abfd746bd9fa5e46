import { createHash, createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver, type ReceivedRequest } from '../../support/http';
import { startHubSpotFake, type HubSpotFake } from './server';

// The fake against HubSpot's documented shapes and rules (SOURCES.md), through HTTP as a client meets it.

let fake: HubSpotFake;
const start = Date.parse('2024-06-03T12:00:00.000Z');

beforeEach(async () => {
  fake = await startHubSpotFake({ clockStart: start, searchLagMs: 5000 });
});
afterEach(async () => {
  await fake.close();
});

async function call(method: string, path: string, body?: unknown, token: string | null = fake.tokens.privateApp) {
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  // Answers are probed field by field, as a client reads them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, headers: response.headers, body: text === '' ? null : (JSON.parse(text) as Record<string, any>) };
}

const searchBody = (since: number, extra: Record<string, unknown> = {}) => ({
  filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) }] }],
  sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
  properties: ['email'],
  limit: 200,
  ...extra,
});

describe('authentication and errors', () => {
  it('refuses a request without a known token with the standard error envelope', async () => {
    for (const token of [null, 'pat-na1-wrong']) {
      const answer = await call('GET', '/crm/v3/objects/contacts', undefined, token);
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION', correlationId: expect.any(String), message: expect.stringContaining('Authentication credentials not found') });
    }
    fake.expireToken(fake.tokens.oauth);
    expect((await call('GET', '/crm/v3/objects/contacts', undefined, fake.tokens.oauth)).body).toMatchObject({ category: 'EXPIRED_AUTHENTICATION' });
  });

  it('answers an unknown object type with a 400', async () => {
    const answer = await call('GET', '/crm/v3/objects/widgets');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
  });
});

describe('the clock', () => {
  it('stands still unless moved, or runs with real time from its start when asked', async () => {
    expect(fake.clock.now().getTime()).toBe(start);
    fake.clock.advance(1500);
    expect(fake.clock.now().getTime()).toBe(start + 1500);
    const running = await startHubSpotFake({ clockStart: start, realTime: true });
    try {
      running.clock.advance(60_000);
      const first = running.clock.now().getTime();
      expect(first).toBeGreaterThanOrEqual(start + 60_000);
      while (running.clock.now().getTime() === first) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(running.clock.now().getTime()).toBeGreaterThan(first);
    } finally {
      await running.close();
    }
  });
});

describe('objects list', () => {
  it('pages by limit and an opaque after, with the default properties or the ones asked, null where unset', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => fake.seed('contacts', { email: `p${i}@example.com`, firstname: `P${i}` }));
    const first = await call('GET', '/crm/v3/objects/contacts?limit=2');
    expect(first.body?.results.map((object: { id: string }) => object.id)).toEqual(ids.slice(0, 2));
    expect(Object.keys(first.body?.results[0].properties).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    expect(first.body?.results[0]).toMatchObject({ archived: false, createdAt: '2024-06-03T12:00:00.000Z', updatedAt: '2024-06-03T12:00:00.000Z' });
    const after = first.body?.paging.next.after as string;
    expect(after).not.toMatch(/^\d+$/);
    const second = await call('GET', `/crm/v3/objects/contacts?limit=2&after=${encodeURIComponent(after)}&properties=phone,email`);
    expect(second.body?.results.map((object: { id: string }) => object.id)).toEqual(ids.slice(2, 4));
    expect(second.body?.results[0].properties).toMatchObject({ phone: null, email: 'p2@example.com' });
    const third = await call('GET', `/crm/v3/objects/contacts?limit=2&after=${encodeURIComponent(second.body?.paging.next.after as string)}`);
    expect(third.body?.results).toHaveLength(1);
    expect(third.body?.paging).toBeUndefined();
  });

  it('lists archived objects apart, with archivedAt', async () => {
    const kept = fake.seed('contacts', { email: 'kept@example.com' });
    const gone = fake.seed('contacts', { email: 'gone@example.com' });
    fake.clock.advance(1000);
    expect((await call('POST', '/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: gone }] })).status).toBe(204);
    expect((await call('GET', '/crm/v3/objects/contacts')).body?.results.map((object: { id: string }) => object.id)).toEqual([kept]);
    const archived = await call('GET', '/crm/v3/objects/contacts?archived=true');
    expect(archived.body?.results).toEqual([expect.objectContaining({ id: gone, archived: true, archivedAt: '2024-06-03T12:00:01.000Z' })]);
  });
});

describe('search', () => {
  it('filters, sorts ascending and pages by offset, with the total', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      fake.clock.advance(1000);
      ids.push(fake.seed('contacts', { email: `s${i}@example.com` }));
    }
    const first = await call('POST', '/crm/v3/objects/contacts/search', searchBody(start + 3000, { limit: 2 }));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: 5, paging: { next: { after: '2' } } });
    expect(first.body?.results.map((object: { id: string }) => object.id)).toEqual(ids.slice(2, 4));
    expect(first.headers.get('x-hubspot-ratelimit-remaining')).toBeNull();
    const last = await call('POST', '/crm/v3/objects/contacts/search', searchBody(start + 3000, { limit: 2, after: '4' }));
    expect(last.body?.results.map((object: { id: string }) => object.id)).toEqual([ids[6]]);
    expect(last.body?.paging).toBeUndefined();
    expect((await call('POST', '/crm/v3/objects/contacts/search', searchBody(start, { limit: 201 }))).status).toBe(400);
  });

  it('shows a write only once the index has caught up, and an archive likewise', async () => {
    const id = fake.seed('contacts', { email: 'old@example.com' });
    fake.clock.advance(60_000);
    fake.personUpdate('contacts', id, { email: 'new@example.com' });
    const created = fake.personCreate('contacts', { email: 'fresh@example.com' });
    const during = await call('POST', '/crm/v3/objects/contacts/search', searchBody(0));
    expect(during.body?.results).toEqual([expect.objectContaining({ id, properties: expect.objectContaining({ email: 'old@example.com' }) })]);
    fake.clock.advance(5000);
    const after = await call('POST', '/crm/v3/objects/contacts/search', searchBody(0));
    // Both changed in the same millisecond: a tie, in no promised order.
    expect(after.body?.results.map((object: { id: string; properties: { email: string } }) => [object.id, object.properties.email]).sort()).toEqual([
      [id, 'new@example.com'],
      [created, 'fresh@example.com'],
    ]);
    fake.personArchive('contacts', id);
    expect((await call('POST', '/crm/v3/objects/contacts/search', searchBody(0))).body?.total).toBe(2);
    fake.clock.advance(5000);
    expect((await call('POST', '/crm/v3/objects/contacts/search', searchBody(0))).body?.total).toBe(1);
  });

  it('lists ties in no id order, the same from one request to the next', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => fake.seed('contacts', { email: `tie${i}@example.com` }));
    const order = async () => (await call('POST', '/crm/v3/objects/contacts/search', searchBody(0))).body?.results.map((object: { id: string }) => object.id);
    const first = await order();
    expect([...first].sort()).toEqual([...ids].sort());
    expect(first).not.toEqual(ids);
    expect(await order()).toEqual(first);
  });

  it('reaches 10,000 results at most: the page before points at 10000, which answers 400', async () => {
    for (let i = 0; i < 10_050; i++) fake.seed('contacts', { email: `bulk${i}@example.com` });
    const near = await call('POST', '/crm/v3/objects/contacts/search', searchBody(0, { after: '9900' }));
    expect(near.body).toMatchObject({ total: 10_050, paging: { next: { after: '10000' } } });
    expect(near.body?.results).toHaveLength(100);
    const beyond = await call('POST', '/crm/v3/objects/contacts/search', searchBody(0, { after: '10000' }));
    expect(beyond.status).toBe(400);
    expect(beyond.body).toMatchObject({ status: 'error', message: 'There was a problem with the request.' });
  });
});

describe('batch endpoints', () => {
  it('batch read answers 207 naming the ids it cannot find, and reads archived ones apart', async () => {
    const live = fake.seed('contacts', { email: 'live@example.com' });
    const archived = fake.seed('contacts', { email: 'archived@example.com' });
    fake.personArchive('contacts', archived);
    const read = await call('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: live }, { id: archived }, { id: '999999' }], properties: ['email'], propertiesWithHistory: [] });
    expect(read.status).toBe(207);
    expect(read.body).toMatchObject({
      status: 'COMPLETE',
      results: [expect.objectContaining({ id: live })],
      numErrors: 1,
      errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: expect.stringContaining('Could not get some CONTACT objects'), context: { ids: [archived, '999999'] } }],
      startedAt: expect.any(String),
      completedAt: expect.any(String),
    });
    const fromArchive = await call('POST', '/crm/v3/objects/contacts/batch/read?archived=true', { inputs: [{ id: archived }], properties: ['email'] });
    expect(fromArchive.status).toBe(200);
    expect(fromArchive.body?.results).toEqual([expect.objectContaining({ id: archived, archived: true })]);
  });

  it('refuses more than 100 inputs, and duplicate ids in an update', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({ properties: { email: `c${i}@example.com` } }));
    const tooMany = await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body?.message).toContain('100');
    expect(fake.portal.objects.contacts.size).toBe(0);
    const id = fake.seed('contacts', { email: 'a@example.com' });
    expect((await call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id, properties: {} }, { id, properties: {} }] })).status).toBe(400);
  });

  it('batch create with objectWriteTraceId on every input answers 207 per input; without, one bad input fails all', async () => {
    const partial = await call('POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [
        { objectWriteTraceId: 't1', properties: { email: 'ok@example.com' } },
        { objectWriteTraceId: 't2', properties: { missing: '1' } },
      ],
    });
    expect(partial.status).toBe(207);
    expect(partial.body?.results).toEqual([expect.objectContaining({ objectWriteTraceId: 't1', properties: expect.objectContaining({ email: 'ok@example.com' }) })]);
    expect(partial.body?.errors).toEqual([
      expect.objectContaining({ category: 'VALIDATION_ERROR', message: expect.stringContaining('PROPERTY_DOESNT_EXIST'), context: { objectWriteTraceId: ['t2'] } }),
    ]);
    const whole = await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties: { email: 'two@example.com' } }, { properties: { hubspotscore: '5' } }] });
    expect(whole.status).toBe(400);
    expect(whole.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(fake.portal.objects.contacts.size).toBe(1);
    const taken = await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties: { email: 'OK@example.com' } }] });
    expect(taken.status).toBe(409);
    expect(taken.body?.message).toMatch(/^Contact already exists\. Existing ID: \d+$/);
  });

  it('batch update applies what it can and answers 207 with OBJECT_NOT_FOUND for the rest; an empty string clears', async () => {
    const id = fake.seed('contacts', { email: 'u@example.com', firstname: 'Ada' });
    fake.clock.advance(10);
    const answer = await call('POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [
        { id, properties: { firstname: '' }, objectWriteTraceId: 'a' },
        { id: '424242', properties: { firstname: 'X' }, objectWriteTraceId: 'b' },
      ],
    });
    expect(answer.status).toBe(207);
    expect(answer.body?.results).toEqual([expect.objectContaining({ id, updatedAt: '2024-06-03T12:00:00.010Z' })]);
    expect(answer.body?.errors).toEqual([expect.objectContaining({ category: 'OBJECT_NOT_FOUND', context: { ids: ['424242'], objectWriteTraceId: ['b'] } })]);
    expect(fake.object('contacts', id)?.properties.firstname).toBeUndefined();
  });

  it("batch update refuses another contact's email: CONFLICT per traced input, the rest applied; untraced, 409 for all", async () => {
    const ada = fake.seed('contacts', { email: 'ada@example.com' });
    const bob = fake.seed('contacts', { email: 'bob@example.com' });
    const cy = fake.seed('contacts', { email: 'cy@example.com' });
    const partial = await call('POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [
        { id: bob, properties: { email: 'ADA@example.com' }, objectWriteTraceId: 'b' },
        { id: cy, properties: { email: 'new@example.com', firstname: 'Cy' }, objectWriteTraceId: 'c' },
        { id: ada, properties: { email: 'ada@example.com', firstname: 'Ada' }, objectWriteTraceId: 'a' },
      ],
    });
    expect(partial.status).toBe(207);
    expect(partial.body?.errors).toEqual([
      { status: 'error', category: 'CONFLICT', message: `Contact already exists. Existing ID: ${ada}`, context: { objectWriteTraceId: ['b'], existingId: [ada] } },
    ]);
    expect(partial.body?.results.map((result: { id: string }) => result.id).sort()).toEqual([ada, cy].sort());
    expect(fake.object('contacts', bob)?.properties.email).toBe('bob@example.com');
    expect(fake.object('contacts', cy)?.properties.email).toBe('new@example.com');

    const whole = await call('POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [
        { id: ada, properties: { firstname: 'Not applied' } },
        { id: bob, properties: { email: 'NEW@example.com' } },
      ],
    });
    expect(whole.status).toBe(409);
    expect(whole.body).toMatchObject({ status: 'error', category: 'CONFLICT', message: `Contact already exists. Existing ID: ${cy}` });
    expect(fake.object('contacts', ada)?.properties.firstname).toBe('Ada');
    // Two inputs of one batch giving one address: the later one is refused.
    const twice = await call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: ada, properties: { email: 'same@example.com' } }, { id: bob, properties: { email: 'same@example.com' } }] });
    expect(twice.body).toMatchObject({ category: 'CONFLICT', message: `Contact already exists. Existing ID: ${ada}` });
  });
});

describe('lifecycle stage', () => {
  const stageOf = (id: string) => fake.object('contacts', id)?.properties.lifecyclestage;
  const update = (id: string, lifecyclestage: string) => call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id, properties: { lifecyclestage }, objectWriteTraceId: 't' }] });

  it('moves forward only through the API: an earlier stage is answered 200 with the stage kept; cleared first, it moves back', async () => {
    const id = fake.seed('contacts', { email: 'l@example.com', lifecyclestage: 'lead' });
    expect((await update(id, 'customer')).body?.results[0].properties.lifecyclestage).toBe('customer');
    fake.clock.advance(10);
    const back = await update(id, 'lead');
    expect(back.status).toBe(200);
    expect(back.body?.results).toEqual([expect.objectContaining({ id, updatedAt: '2024-06-03T12:00:00.010Z', properties: expect.objectContaining({ lifecyclestage: 'customer' }) })]);
    expect(stageOf(id)).toBe('customer');
    expect((await update(id, '')).status).toBe(200);
    expect(stageOf(id)).toBeUndefined();
    expect((await update(id, 'lead')).body?.results[0].properties.lifecyclestage).toBe('lead');
    expect(stageOf(id)).toBe('lead');
  });

  it('lets a person in HubSpot set any stage', async () => {
    const id = fake.seed('contacts', { email: 'p@example.com', lifecyclestage: 'customer' });
    fake.personUpdate('contacts', id, { lifecyclestage: 'subscriber' });
    expect(stageOf(id)).toBe('subscriber');
  });
});

describe('properties API', () => {
  it('lists property definitions in the documented shape', async () => {
    fake.defineProperty('contacts', { name: 'favourite_colour', label: 'Favourite colour', type: 'string', fieldType: 'text' });
    const answer = await call('GET', '/crm/v3/properties/contacts');
    expect(answer.status).toBe(200);
    const byName = new Map((answer.body?.results as Array<{ name: string }>).map((property) => [property.name, property]));
    expect(byName.get('email')).toMatchObject({ label: 'Email', type: 'string', fieldType: 'text', groupName: 'contactinformation', hubspotDefined: true, options: [] });
    expect(byName.get('hs_object_id')).toMatchObject({ modificationMetadata: { readOnlyValue: true } });
    expect(byName.get('favourite_colour')).toMatchObject({ hubspotDefined: false, modificationMetadata: { readOnlyValue: false } });
    expect(byName.get('lifecyclestage')).toMatchObject({ type: 'enumeration', options: expect.arrayContaining([expect.objectContaining({ value: 'customer' })]) });
    expect(byName.get('hs_email_optout')).toMatchObject({ type: 'bool', modificationMetadata: { readOnlyValue: true } });
  });

  it('refuses a value for hs_email_optout, which HubSpot keeps itself', async () => {
    const id = fake.seed('contacts', { email: 'optout@example.com' });
    const answer = await call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id, properties: { hs_email_optout: 'true' } }] });
    expect(answer.status).toBe(400);
    expect(answer.body?.message).toContain('READ_ONLY_VALUE');
  });
});

describe('date and datetime values', () => {
  beforeEach(() => {
    fake.defineProperty('contacts', { name: 'next_call', type: 'datetime', fieldType: 'date' });
    fake.defineProperty('contacts', { name: 'renewal', type: 'date', fieldType: 'date' });
  });
  const create = (properties: Record<string, unknown>) => call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties }] });

  it('keeps a datetime in UTC with milliseconds and Z, whatever ISO 8601 zone or epoch milliseconds it was given', async () => {
    const written = ['2024-06-03T12:00:00+02:00', '2024-06-03T10:00:00Z', '2024-06-03T05:00:00-0500', String(Date.parse('2024-06-03T10:00:00Z')), '2024-06-03T10:00:00.000000Z'];
    for (const [index, value] of written.entries()) {
      const answer = await create({ email: `t${index}@example.com`, next_call: value });
      expect(answer.status, value).toBe(201);
      expect(answer.body?.results[0].properties.next_call, value).toBe('2024-06-03T10:00:00.000Z');
    }
  });

  it('keeps a date as YYYY-MM-DD, from the date or midnight UTC in milliseconds', async () => {
    for (const [index, value] of ['2024-06-03', String(Date.parse('2024-06-03T00:00:00Z')), '2024-06-03T00:00:00.000Z'].entries()) {
      const answer = await create({ email: `d${index}@example.com`, renewal: value });
      expect(answer.status, value).toBe(201);
      expect(answer.body?.results[0].properties.renewal, value).toBe('2024-06-03');
    }
  });

  it('refuses a date at a time of day other than midnight UTC, and text that is no date, as invalid property values', async () => {
    const noon = Date.parse('2024-06-03T13:01:00Z');
    const atNoon = await create({ email: 'noon@example.com', renewal: String(noon) });
    expect(atNoon.status).toBe(400);
    expect(atNoon.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(atNoon.body?.message).toContain(`Property values were not valid: [{"isValid":false,"message":"${noon} is at 13:1:0.0 UTC, not midnight!","error":"INVALID_DATE","name":"renewal"`);
    for (const value of ['2024-06-03T00:00:00+02:00', '03/06/2024', '2024-02-30']) {
      const refused = await create({ email: 'refused@example.com', renewal: value });
      expect(refused.status, value).toBe(400);
      expect(refused.body?.message, value).toContain('INVALID_DATE');
    }
    expect((await create({ email: 'refused@example.com', next_call: 'tomorrow' })).body?.message).toContain('INVALID_DATE');
    expect(fake.portal.objects.contacts.size).toBe(0);
  });
});

describe('rate limits', () => {
  it('counts a private app ten seconds at a time and the account by day, in headers and 429 bodies', async () => {
    fake.limits.setTenSecondly(3);
    const first = await call('GET', '/crm/v3/objects/contacts');
    expect(Object.fromEntries([...first.headers].filter(([name]) => name.startsWith('x-hubspot-ratelimit')))).toEqual({
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-max': '3',
      'x-hubspot-ratelimit-remaining': '2',
      'x-hubspot-ratelimit-daily': '250000',
      'x-hubspot-ratelimit-daily-remaining': '249999',
    });
    await call('GET', '/crm/v3/objects/contacts');
    await call('GET', '/crm/v3/objects/contacts');
    const limited = await call('GET', '/crm/v3/objects/contacts');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING', message: 'You have reached your ten_secondly_rolling limit.' });
    expect(limited.headers.get('retry-after')).toBeNull();
    fake.clock.advance(10_000);
    expect((await call('GET', '/crm/v3/objects/contacts')).status).toBe(200);
    fake.limits.exhaustDaily();
    const daily = await call('GET', '/crm/v3/objects/contacts');
    expect(daily.body).toMatchObject({ policyName: 'DAILY', message: 'You have reached your daily limit.' });
    fake.clock.set(Date.parse('2024-06-04T00:00:00.000Z'));
    expect((await call('GET', '/crm/v3/objects/contacts')).status).toBe(200);
  });

  it('gives OAuth installs 110 a window and no daily headers', async () => {
    const answer = await call('GET', '/crm/v3/objects/contacts', undefined, fake.tokens.oauth);
    expect(answer.headers.get('x-hubspot-ratelimit-max')).toBe('110');
    expect(answer.headers.get('x-hubspot-ratelimit-daily')).toBeNull();
  });

  it('limits searches to five a second, without headers', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call('POST', '/crm/v3/objects/contacts/search', searchBody(0))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await call('POST', '/crm/v3/objects/contacts/search', searchBody(0));
    expect(limited.body).toMatchObject({ message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT' });
    fake.clock.advance(1000);
    expect((await call('POST', '/crm/v3/objects/contacts/search', searchBody(0))).status).toBe(200);
  });
});

describe('webhooks', () => {
  let receiver: Receiver;
  let received: ReceivedRequest[];
  let status: number;

  beforeEach(async () => {
    received = [];
    status = 204;
    receiver = await startReceiver((request) => {
      received.push(request);
      return status;
    });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('sends subscribed events as a signed JSON array, and retries a failed batch with attemptNumber + 1', async () => {
    const target = 'https://hooks.example.com/hooks/leads/crm?x=%2Cy';
    fake.webhooks.configure({
      targetUrl: target,
      connectTo: receiver.origin,
      subscriptions: [{ subscriptionType: 'contact.creation' }, { subscriptionType: 'contact.propertyChange', propertyName: 'firstname' }, { subscriptionType: 'company.creation' }],
    });
    const id = fake.personCreate('contacts', { email: 'w@example.com', firstname: 'Wes' });
    fake.personUpdate('contacts', id, { lastname: 'Not subscribed' });
    status = 500;
    await fake.webhooks.flush();
    expect(received).toHaveLength(1);
    const [first] = received;
    const events = JSON.parse(first!.body) as Array<Record<string, unknown>>;
    expect(events.map((event) => event.subscriptionType)).toEqual(['contact.creation', 'contact.propertyChange']);
    expect(events[0]).toMatchObject({ objectId: Number(id), portalId: 62515, appId: 54321, attemptNumber: 0, occurredAt: start, changeFlag: 'CREATED', eventId: expect.any(Number), subscriptionId: 1 });
    expect(events[1]).toMatchObject({ propertyName: 'firstname', propertyValue: 'Wes' });
    expect(first!.headers.host).toBe('hooks.example.com');
    expect(first!.url).toBe('/hooks/leads/crm?x=%2Cy');
    // Validating requests, v3: HMAC-SHA256 keyed with the client secret over method + URI (listed escapes decoded) + body + timestamp, base64.
    const timestamp = first!.headers['x-hubspot-request-timestamp'] as string;
    const expected = createHmac('sha256', fake.webhooks.clientSecret).update(`POSThttps://hooks.example.com/hooks/leads/crm?x=,y${first!.body}${timestamp}`).digest('base64');
    expect(first!.headers['x-hubspot-signature-v3']).toBe(expected);
    // v1: hex SHA-256 of client secret + body.
    expect(first!.headers['x-hubspot-signature']).toBe(createHash('sha256').update(fake.webhooks.clientSecret + first!.body).digest('hex'));
    expect(first!.headers['x-hubspot-signature-version']).toBe('v1');

    status = 200;
    await fake.webhooks.retryFailed();
    const retried = JSON.parse(received[1]!.body) as Array<Record<string, unknown>>;
    expect(retried.map((event) => [event.eventId, event.attemptNumber])).toEqual(events.map((event) => [event.eventId, 1]));
  });

  it('sends at most 100 events a request', async () => {
    fake.webhooks.configure({ targetUrl: `${receiver.origin}/hooks`, subscriptions: [{ subscriptionType: 'contact.creation' }] });
    for (let i = 0; i < 150; i++) fake.personCreate('contacts', { email: `many${i}@example.com` });
    await fake.webhooks.flush();
    expect(received.map((entry) => (JSON.parse(entry.body) as unknown[]).length)).toEqual([100, 50]);
  });
});
