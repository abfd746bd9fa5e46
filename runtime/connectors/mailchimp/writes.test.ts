import { afterEach, describe, expect, it } from 'vitest';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import type { Connector, WriteResult } from '../types';
import { openMailchimp, subscriberHash } from './index';
import { contextFor, fakeTime, recordingFetch, startFake } from './test-support';

let fake: MailchimpFake;
let connector: Connector | undefined;
afterEach(async () => {
  await connector?.close();
  await fake.close();
  connector = undefined;
});

async function open(extra: Record<string, unknown> = {}) {
  fake = await startFake();
  const { fetch, sent } = recordingFetch();
  connector = await openMailchimp(contextFor(fake, extra), { ...fakeTime(fake), fetch });
  return { connector, sent, writes: () => sent.filter((entry) => entry.method !== 'GET') };
}

const ok = (result: WriteResult | undefined) => {
  if (!result?.ok) throw new Error(`expected success, got ${JSON.stringify(result)}`);
  return result;
};

describe('creates: the documented PUT upsert, keyed by the subscriber hash', () => {
  it('PUTs to the MD5 of the lower-cased address, with status_if_new, and creating again leaves one member', async () => {
    const { connector, writes } = await open({ statusIfNew: 'pending' });
    const fields = { email_address: 'Ada.Lovelace@Example.com', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace' }, tags: ['vip', 'lead'] };
    const [created] = await connector.write([{ kind: 'create', fields, tag: 'syncline:f:w1' }]);
    const id = subscriberHash('ada.lovelace@example.com');
    expect(ok(created)).toEqual({ ok: true, id, version: '2024-06-03T12:00:00Z' });
    expect(writes()).toEqual([
      { method: 'PUT', path: `/3.0/lists/${fake.list.id}/members/${id}`, body: { email_address: 'Ada.Lovelace@Example.com', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace' }, status_if_new: 'pending' } },
      { method: 'POST', path: `/3.0/lists/${fake.list.id}/members/${id}/tags`, body: { tags: [{ name: 'vip', status: 'active' }, { name: 'lead', status: 'active' }] } },
    ]);
    expect(fake.member(id)).toMatchObject({ status: 'pending', tags_count: 2 });
    // Read back from Mailchimp's own answer: no further request.
    const before = fake.requests.length;
    expect((await connector.getMany([id])).get(id)?.fields).toEqual({ email_address: 'Ada.Lovelace@Example.com', status: 'pending', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace', ADDRESS: null, PHONE: null, BIRTHDAY: null }, tags: ['lead', 'vip'] });
    expect(fake.requests.length).toBe(before);

    // A pass that died after the PUT and is done again: the same upsert, still one member.
    fake.clock.advance(1);
    expect(ok((await connector.write([{ kind: 'create', fields, tag: 'syncline:f:w1' }]))[0]).id).toBe(id);
    expect(fake.account.list(fake.list.id).members.size).toBe(1);
  });

  it('gives status when the flow writes one, and refuses what cannot be a member', async () => {
    const { connector, writes } = await open();
    const results = await connector.write([
      { kind: 'create', fields: { email_address: 'unsub@example.com', status: 'unsubscribed' }, tag: 't1' },
      { kind: 'create', fields: { merge_fields: { FNAME: 'No Address' } }, tag: 't2' },
      { kind: 'create', fields: { email_address: 'x@example.com', status: 'archived' }, tag: 't3' },
      { kind: 'create', fields: { email_address: 'y@example.com', merge_fields: { NOPE: 1 } }, tag: 't4' },
      { kind: 'create', fields: { email_address: 'z@example.com', company: 'Acme' }, tag: 't5' },
    ]);
    expect(ok(results[0]).id).toBe(subscriberHash('unsub@example.com'));
    expect(writes()[0]?.body).toEqual({ email_address: 'unsub@example.com', status: 'unsubscribed', status_if_new: 'unsubscribed' });
    expect(results.slice(1).map((result) => (result.ok ? 'ok' : result.reason === 'failed' ? result.message : result.reason))).toEqual([
      'email_address is required to create a Mailchimp member: it is what the member is keyed by',
      'status: a member is archived by deleting it (a delete archives in Mailchimp), not by writing status "archived"',
      'merge_fields.NOPE is not a merge field of this audience; its merge fields are FNAME, LNAME, ADDRESS, PHONE, BIRTHDAY',
      'company is not a field of Mailchimp members; the fields are email_address, status, tags and merge_fields.<TAG> (FNAME, LNAME, ADDRESS, PHONE, BIRTHDAY)',
    ]);
    expect(writes()).toHaveLength(1);
  });

  it('reports Mailchimp’s own words when it refuses a member', async () => {
    const { connector } = await open();
    fake.addMergeField({ tag: 'COMPANY', type: 'text', required: true });
    const [result] = await connector.write([{ kind: 'create', fields: { email_address: 'new@example.com' }, tag: 't' }]);
    expect(result).toEqual({ ok: false, reason: 'failed', retryable: false, message: 'creating the member: Mailchimp answered 400 — Invalid Resource — Your merge fields were invalid. — COMPANY: Please enter a value' });
  });
});

describe('birthdays', () => {
  it('takes a month and a day in the field’s format, and refuses a full date for that record alone before sending it', async () => {
    const { connector, writes } = await open();
    const results = await connector.write([
      { kind: 'create', fields: { email_address: 'ada@example.com', merge_fields: { BIRTHDAY: '12/10' } }, tag: 't1' },
      { kind: 'create', fields: { email_address: 'grace@example.com', merge_fields: { FNAME: 'Grace', BIRTHDAY: '1906-12-09' } }, tag: 't2' },
    ]);
    expect(ok(results[0]).id).toBe(subscriberHash('ada@example.com'));
    expect(results[1]).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('merge_fields.BIRTHDAY is a birthday field, which holds a month and a day as MM/DD, got "1906-12-09"') });
    expect(writes().map((entry) => entry.path)).toEqual([`/3.0/lists/${fake.list.id}/members/${subscriberHash('ada@example.com')}`]);
    // Against Mailchimp (the fake, as recorded) the full date fails the whole member, its name with it.
    const direct = await fetch(`${fake.url}/3.0/lists/${fake.list.id}/members/${subscriberHash('grace@example.com')}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email_address: 'grace@example.com', status_if_new: 'subscribed', merge_fields: { FNAME: 'Grace', BIRTHDAY: '1906-12-09' } }),
    });
    expect(direct.status).toBe(400);
    expect(await direct.json()).toMatchObject({ errors: [{ field: 'BIRTHDAY', message: 'Please enter a month (01-12) and a day (01-31)' }] });
  });
});

describe('date merge fields', () => {
  it('writes YYYY-MM-DD, which Mailchimp answers as written whatever the field’s format: read back, nothing differs', async () => {
    const { connector, writes } = await open();
    fake.addMergeField({ tag: 'RENEWAL', type: 'date', options: { date_format: 'DD/MM/YYYY' } });
    const [created] = await connector.write([{ kind: 'create', fields: { email_address: 'ada@example.com', merge_fields: { RENEWAL: '2024-04-03' } }, tag: 't' }]);
    const id = ok(created).id;
    expect(writes()[0]?.body).toMatchObject({ merge_fields: { RENEWAL: '2024-04-03' } });
    expect((await connector.getMany([id])).get(id)?.fields.merge_fields).toMatchObject({ RENEWAL: '2024-04-03' });
  });

  it('refuses, for that record alone and before sending, a date in the field’s own format and what is no date', async () => {
    const { connector, writes } = await open();
    fake.addMergeField({ tag: 'RENEWAL', type: 'date', options: { date_format: 'DD/MM/YYYY' } });
    const results = await connector.write([
      // Mailchimp would take this as 3 April and answer 2024-04-03: not what was written, so a difference every pass.
      { kind: 'create', fields: { email_address: 'ada@example.com', merge_fields: { RENEWAL: '03/04/2024' } }, tag: 't1' },
      // Mailchimp would refuse it with "Please enter the date", the name with it.
      { kind: 'create', fields: { email_address: 'grace@example.com', merge_fields: { FNAME: 'Grace', RENEWAL: 'soon' } }, tag: 't2' },
      { kind: 'create', fields: { email_address: 'alan@example.com', merge_fields: { RENEWAL: '2024-02-30' } }, tag: 't3' },
      { kind: 'create', fields: { email_address: 'edsger@example.com', merge_fields: { RENEWAL: '2024-02-29' } }, tag: 't4' },
    ]);
    expect(results.slice(0, 3).map((result) => (result.ok ? 'ok' : result.reason === 'failed' ? result.message : result.reason))).toEqual([
      'merge_fields.RENEWAL is a date field, got "03/04/2024": the sync writes dates to Mailchimp as YYYY-MM-DD, the one form Mailchimp reads the same whatever the field\'s format (DD/MM/YYYY here) and answers with, so that a date comes back as written; for dates held in another form, convert them on Mailchimp\'s side of the mapping with a transform { "op": "dateFormat", "field": "merge_fields.RENEWAL", "from": "DD/MM/YYYY", "to": "YYYY-MM-DD" } ("from" the other system\'s form; from and to the other way round where the flow runs out of Mailchimp)',
      expect.stringMatching(/^merge_fields\.RENEWAL is a date field, got "soon": /),
      expect.stringMatching(/^merge_fields\.RENEWAL is a date field, got "2024-02-30": /),
    ]);
    expect(results.slice(0, 3).every((result) => !result.ok && result.reason === 'failed' && !result.retryable)).toBe(true);
    expect(ok(results[3]).id).toBe(subscriberHash('edsger@example.com'));
    expect(writes().map((entry) => entry.path)).toEqual([`/3.0/lists/${fake.list.id}/members/${subscriberHash('edsger@example.com')}`]);
  });
});

describe('updates: only what differs', () => {
  it('PATCHes a partial merge_fields, which Mailchimp merges: the other merge fields keep their values', async () => {
    const { connector, writes } = await open();
    const member = fake.seedMember({ email_address: 'grace@example.com', merge_fields: { FNAME: 'Grace', LNAME: 'Hopper', PHONE: '555' } });
    fake.clock.advance(3);
    const [result] = await connector.write([{ kind: 'update', id: member.id, fields: { merge_fields: { FNAME: 'Amazing Grace' } }, tag: 't', expectedVersion: null }]);
    expect(ok(result).version).toBe('2024-06-03T12:00:03Z');
    expect(writes()).toEqual([{ method: 'PATCH', path: `/3.0/lists/${fake.list.id}/members/${member.id}`, body: { merge_fields: { FNAME: 'Amazing Grace' } } }]);
    expect(fake.member(member.id)).toMatchObject({ merge_fields: { FNAME: 'Amazing Grace', LNAME: 'Hopper', PHONE: '555' } });
  });

  it('turns on and off only the tags that changed since they were read, leaving a tag added meanwhile alone', async () => {
    const { connector, writes } = await open();
    const member = fake.seedMember({ email_address: 'tags@example.com' });
    fake.person.tag(member.id, [{ name: 'customer', status: 'active' }, { name: 'trial', status: 'active' }]);
    await connector.getMany([member.id]);
    fake.person.tag(member.id, [{ name: 'added-meanwhile', status: 'active' }]);
    const [result] = await connector.write([{ kind: 'update', id: member.id, fields: { tags: ['customer', 'renewal'] }, tag: 't', expectedVersion: null }]);
    ok(result);
    expect(writes()).toEqual([{ method: 'POST', path: `/3.0/lists/${fake.list.id}/members/${member.id}/tags`, body: { tags: [{ name: 'renewal', status: 'active' }, { name: 'trial', status: 'inactive' }] } }]);
    expect(((fake.member(member.id)?.tags ?? []) as Array<{ name: string }>).map((tag) => tag.name).sort()).toEqual(['added-meanwhile', 'customer', 'renewal']);
  });

  it('reads a member it has not seen before turning its tags off', async () => {
    const { connector, sent } = await open();
    const member = fake.seedMember({ email_address: 'unseen@example.com' });
    fake.person.tag(member.id, [{ name: 'old', status: 'active' }]);
    ok((await connector.write([{ kind: 'update', id: member.id, fields: { tags: [] }, tag: 't', expectedVersion: null }]))[0]);
    expect(sent.map((entry) => `${entry.method} ${entry.path.replace(/\?.*/, '')}`)).toEqual([
      `GET /3.0/lists/${fake.list.id}/merge-fields`,
      `GET /3.0/lists/${fake.list.id}/members/${member.id}`,
      `POST /3.0/lists/${fake.list.id}/members/${member.id}/tags`,
    ]);
    expect(fake.member(member.id)?.tags).toEqual([]);
  });

  it('never changes a member’s address (it is the key), and refuses status archived', async () => {
    const { connector, writes } = await open();
    const member = fake.seedMember({ email_address: 'ann@example.com' });
    const results = await connector.write([
      { kind: 'update', id: member.id, fields: { email_address: 'ann.new@example.com' }, tag: 't1', expectedVersion: null },
      { kind: 'update', id: member.id, fields: { email_address: 'ANN@example.com' }, tag: 't2', expectedVersion: null },
      { kind: 'update', id: member.id, fields: { status: 'archived' }, tag: 't3', expectedVersion: null },
    ]);
    expect(results[0]).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('would make it another record') });
    // The same address in other letters is the same member.
    ok(results[1]);
    expect(results[2]).toMatchObject({ ok: false, message: expect.stringContaining('archived by deleting it') });
    expect(writes()).toHaveLength(1);
  });
});

describe('what only the person can undo', () => {
  it('refuses to add again an address deleted for good: the person must subscribe again themselves', async () => {
    const { connector } = await open();
    const member = fake.seedMember({ email_address: 'forgotten@example.com' });
    fake.account.deletePermanently(fake.list, member);
    const [result] = await connector.write([{ kind: 'create', fields: { email_address: 'forgotten@example.com', merge_fields: { FNAME: 'Again' } }, tag: 't' }]);
    expect(result).toEqual({
      ok: false,
      reason: 'failed',
      retryable: false,
      message:
        'creating the member: this address was deleted permanently from the audience in Mailchimp, and Mailchimp lets no one add it back: only the person can, by subscribing again themselves (through a Mailchimp signup form, say). Mailchimp answered 400 — Forgotten Email Not Subscribed — forgotten@example.com was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.',
    });
    expect(fake.member(member.id)).toBeNull();
  });

  it('refuses to subscribe someone who unsubscribed themselves, but subscribes again one the sync unsubscribed', async () => {
    const { connector } = await open();
    const opted = fake.seedMember({ email_address: 'opted.out@example.com' });
    fake.person.unsubscribe(opted.id);
    const byApi = fake.seedMember({ email_address: 'by.sync@example.com' });
    ok((await connector.write([{ kind: 'update', id: byApi.id, fields: { status: 'unsubscribed' }, tag: 't0', expectedVersion: null }]))[0]);
    const results = await connector.write([
      { kind: 'update', id: opted.id, fields: { status: 'subscribed', merge_fields: { FNAME: 'Opted' } }, tag: 't1', expectedVersion: null },
      { kind: 'create', fields: { email_address: 'opted.out@example.com', status: 'subscribed' }, tag: 't2' },
      { kind: 'update', id: byApi.id, fields: { status: 'subscribed' }, tag: 't3', expectedVersion: null },
    ]);
    const why =
      'this person unsubscribed themselves (or their address bounced, or is under compliance review), and Mailchimp lets no one else subscribe them again: only they can, by subscribing again themselves (through a Mailchimp signup form, say). Mailchimp answered 400 — Member In Compliance State — opted.out@example.com is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.';
    expect(results.slice(0, 2)).toEqual([
      { ok: false, reason: 'failed', retryable: false, message: `updating member ${opted.id}: ${why}` },
      { ok: false, reason: 'failed', retryable: false, message: `creating the member: ${why}` },
    ]);
    ok(results[2]);
    expect(fake.member(opted.id)).toMatchObject({ status: 'unsubscribed', merge_fields: { FNAME: '' } });
    expect(fake.member(byApi.id)).toMatchObject({ status: 'subscribed' });
  });
});

describe('deletes archive', () => {
  it('DELETEs (archive), succeeds on an archived member, and never deletes for good', async () => {
    const { connector } = await open();
    const member = fake.seedMember({ email_address: 'bye@example.com' });
    expect(await connector.write([{ kind: 'delete', id: member.id, expectedVersion: null }])).toEqual([{ ok: true, id: member.id, version: null }]);
    expect(fake.member(member.id)).toMatchObject({ status: 'archived' });
    expect(await connector.write([{ kind: 'delete', id: member.id, expectedVersion: null }])).toEqual([{ ok: true, id: member.id, version: null }]);
    expect(await connector.write([{ kind: 'delete', id: subscriberHash('never@example.com'), expectedVersion: null }])).toEqual([{ ok: false, reason: 'missing' }]);
    expect(fake.countRequests('POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent')).toBe(0);
  });

  it('refuses, not to be retried, to archive a member Mailchimp cannot archive: pending or cleaned', async () => {
    const { connector } = await open();
    const pending = fake.seedMember({ email_address: 'unconfirmed@example.com', status: 'pending' });
    const cleaned = fake.seedMember({ email_address: 'bounced@example.com' });
    fake.person.clean(cleaned.id);
    const results = await connector.write([
      { kind: 'delete', id: pending.id, expectedVersion: null },
      { kind: 'delete', id: cleaned.id, expectedVersion: null },
    ]);
    const mailchimpSaid = 'Mailchimp answered 405 — Method Not Allowed — This list member cannot be removed. Can not archive a contact that is bounced, pending or archived';
    expect(results).toEqual([
      {
        ok: false,
        reason: 'failed',
        retryable: false,
        message: `archiving member ${pending.id}: Mailchimp cannot archive a pending member, one asked to confirm a subscription who has not confirmed it yet; it gets no campaigns unless they confirm. To have it gone, unsubscribe it or delete it permanently in Mailchimp. ${mailchimpSaid}`,
      },
      {
        ok: false,
        reason: 'failed',
        retryable: false,
        message: `archiving member ${cleaned.id}: Mailchimp cannot archive a cleaned member, an address that bounced, which Mailchimp keeps so that it is never mailed again; it gets no campaigns. To have it gone, delete it permanently in Mailchimp. ${mailchimpSaid}`,
      },
    ]);
    expect(fake.member(pending.id)).toMatchObject({ status: 'pending' });
  });
});
