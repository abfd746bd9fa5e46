import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver, type ReceivedRequest } from '../../support/http';
import { startMailchimpFake, type MailchimpFake } from './server';
import { subscriberHash } from './store';
import type { Delivery } from './webhooks';

// The fake against what Mailchimp documents (SOURCES.md): shapes, paging, since_last_changed, the subscriber hash rule,
// archive, tags, batches with a real gzipped tar, webhooks with their GET check, problem documents and 429s.

let fake: MailchimpFake;
const start = Date.parse('2024-06-03T12:00:00Z');

beforeEach(async () => {
  fake = await startMailchimpFake({ clockStart: start });
});
afterEach(async () => {
  await fake.close();
});

async function call(method: string, path: string, body?: unknown, authorization = `Basic ${Buffer.from(`anystring:${fake.apiKey}`).toString('base64')}`) {
  const response = await fetch(`${fake.url}/3.0${path}`, {
    method,
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) };
}

const members = (path = '') => `/lists/${fake.list.id}/members${path}`;

describe('authentication and errors', () => {
  it('answers problem documents: a missing key, a wrong one, an unknown path', async () => {
    const missing = await call('GET', '/lists', undefined, '');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(missing.body).toEqual({ type: 'https://mailchimp.com/developer/marketing/docs/errors/', title: 'API Key Missing', status: 401, detail: 'Your request did not include an API key.', instance: expect.any(String) });
    expect(missing.headers.get('x-request-id')).toBe(missing.body?.instance);
    expect(missing.headers.get('link')).toContain('rel="describedBy"');
    const wrong = await call('GET', '/lists', undefined, `Basic ${Buffer.from('anystring:00000000000000000000000000000000-us19').toString('base64')}`);
    expect(wrong.body).toMatchObject({ status: 401, title: 'API Key Invalid' });
    expect((await call('GET', '/nothing')).body).toMatchObject({ status: 404, title: 'Resource Not Found' });
    const notAllowed = await call('PUT', '/lists');
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get('allow')).toBe('GET');
  });

  it('takes an API key with any user name, and an OAuth token as a bearer token; tells its time in Date', async () => {
    expect((await call('GET', '/ping', undefined, `Basic ${Buffer.from(`whoever:${fake.apiKey}`).toString('base64')}`)).body).toEqual({ health_status: "Everything's Chimpy!" });
    const bearer = await call('GET', '/lists', undefined, `Bearer ${fake.oauthToken}`);
    expect(bearer.status).toBe(200);
    expect(bearer.body).toMatchObject({ total_items: 1, lists: [{ id: fake.list.id, name: 'Newsletter' }] });
    expect(Date.parse(bearer.headers.get('date') ?? '')).toBe(start);
  });

  it('answers 429 TooManyRequests past 10 simultaneous connections, and when told to', async () => {
    // Ten requests that have arrived and not finished sending their bodies hold ten connections.
    const open: Array<ReturnType<typeof httpRequest>> = [];
    for (let i = 0; i < 10; i++) {
      const pending = httpRequest(`${fake.url}/3.0/batches`, { method: 'POST', headers: { authorization: `Bearer ${fake.oauthToken}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
      pending.on('error', () => undefined);
      pending.write('{"operations":');
      open.push(pending);
    }
    while (fake.maxConcurrent() < 10) await new Promise((resolve) => setTimeout(resolve, 5));
    const eleventh = await call('GET', '/lists', undefined, `Bearer ${fake.oauthToken}`);
    expect(eleventh.status).toBe(429);
    expect(eleventh.body).toMatchObject({ title: 'Too Many Requests', detail: 'You have exceeded the limit of 10 simultaneous connections.' });
    expect(eleventh.headers.get('retry-after')).toBeNull();
    for (const pending of open) pending.destroy();
    fake.failNextRequests(1);
    expect((await call('GET', '/lists')).status).toBe(429);
    expect((await call('GET', '/lists')).status).toBe(200);
  });
});

describe('members', () => {
  it('keys a member by the MD5 of its lower-cased address; PUT is an upsert that refuses a hash of anything else', async () => {
    // The documentation's own example ("Manage Subscribers with the Mailchimp API", Identify Subscribers).
    expect(subscriberHash('Urist.McVankab@freddiesjokes.com')).toBe('62eeb292278cc15f5817cb78f7790b08');
    const hash = subscriberHash('Ada@Example.com');
    const created = await call('PUT', members(`/${hash}`), { email_address: 'Ada@Example.com', status_if_new: 'subscribed', merge_fields: { FNAME: 'Ada' } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: hash, email_address: 'Ada@Example.com', status: 'subscribed', merge_fields: { FNAME: 'Ada', LNAME: '' }, list_id: fake.list.id, last_changed: '2024-06-03T12:00:00+00:00' });
    // Again: the same member, updated; status stays unless `status` is given.
    fake.clock.advance(5);
    const again = await call('PUT', members(`/${hash}`), { email_address: 'ada@example.com', status_if_new: 'unsubscribed', merge_fields: { LNAME: 'Lovelace' } });
    expect(again.body).toMatchObject({ id: hash, status: 'subscribed', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace' }, last_changed: '2024-06-03T12:00:05+00:00' });
    expect(fake.account.list(fake.list.id).members.size).toBe(1);

    // The hash of the address not lower-cased names nobody, and the address is taken: Member Exists.
    const notLowerCased = createHash('md5').update('Ada@Example.com').digest('hex');
    const wrongCase = await call('PUT', members(`/${notLowerCased}`), { email_address: 'Ada@Example.com', status_if_new: 'subscribed' });
    expect(wrongCase.body).toMatchObject({ status: 400, title: 'Member Exists', detail: 'ada@example.com is already a list member. Use PUT to insert or update list members.' });
    const mismatch = await call('PUT', members(`/${subscriberHash('someone@example.com')}`), { email_address: 'other@example.com', status_if_new: 'subscribed' });
    expect(mismatch.body).toMatchObject({ status: 400, title: 'Invalid Resource', errors: [{ field: 'email_address' }] });
    expect(fake.member('other@example.com')).toBeNull();
    const incomplete = await call('PUT', members(`/${subscriberHash('new@example.com')}`), { email_address: 'new@example.com' });
    expect(incomplete.body).toMatchObject({ status: 400, errors: [{ field: 'status_if_new', message: 'This value should not be blank.' }] });
    // The path also takes the address itself.
    expect((await call('GET', members('/ada@example.com'))).body).toMatchObject({ id: hash });
  });

  it('PATCH merges merge_fields key by key; a new address moves the member to its hash', async () => {
    fake.addMergeField({ tag: 'SCORE', type: 'number' });
    const member = fake.seedMember({ email_address: 'grace@example.com', merge_fields: { FNAME: 'Grace', LNAME: 'Hopper', SCORE: 3 } });
    fake.clock.advance(2);
    const patched = await call('PATCH', members(`/${member.id}`), { merge_fields: { FNAME: 'Amazing Grace' } });
    expect(patched.body).toMatchObject({ merge_fields: { FNAME: 'Amazing Grace', LNAME: 'Hopper', SCORE: 3 }, last_changed: '2024-06-03T12:00:02+00:00' });
    expect((await call('PATCH', members(`/${member.id}`), { merge_fields: { SCORE: 'many' } })).body).toMatchObject({ status: 400, detail: 'Your merge fields were invalid.', errors: [{ field: 'SCORE' }] });
    expect((await call('PATCH', members(`/${member.id}`), { status: 'archived' })).body).toMatchObject({ status: 400, errors: [{ field: 'status' }] });
    const moved = await call('PATCH', members(`/${member.id}`), { email_address: 'grace.hopper@example.com' });
    expect(moved.body).toMatchObject({ id: subscriberHash('grace.hopper@example.com'), email_address: 'grace.hopper@example.com' });
    expect((await call('GET', members(`/${subscriberHash('grace@example.com')}`))).status).toBe(404);
  });

  it('keeps a date merge field as YYYY-MM-DD whatever its date_format, reads a slashed date by that format, refuses what is no date', async () => {
    fake.addMergeField({ tag: 'JOINED', type: 'date', options: { date_format: 'MM/DD/YYYY' } });
    fake.addMergeField({ tag: 'RENEWAL', type: 'date', options: { date_format: 'DD/MM/YYYY' } });
    const hash = subscriberHash('ada@example.com');
    // As recorded (grouparoo's exportRecord.js): YYYY-MM-DD goes in and comes out as sent.
    const created = await call('PUT', members(`/${hash}`), { email_address: 'ada@example.com', status_if_new: 'subscribed', merge_fields: { JOINED: '1980-12-21', RENEWAL: '1980-12-21' } });
    expect(created.body).toMatchObject({ merge_fields: { JOINED: '1980-12-21', RENEWAL: '1980-12-21' } });
    // The same text, 03/04/2024, is 4 March in one field and 3 April in the other; both answer YYYY-MM-DD.
    const slashed = await call('PATCH', members(`/${hash}`), { merge_fields: { JOINED: '03/04/2024', RENEWAL: '03/04/2024' } });
    expect(slashed.body).toMatchObject({ merge_fields: { JOINED: '2024-03-04', RENEWAL: '2024-04-03' } });
    expect((await call('PATCH', members(`/${hash}`), { merge_fields: { JOINED: '4/15/2018' } })).body).toMatchObject({ merge_fields: { JOINED: '2018-04-15' } });
    // No 25th month in a DD/MM/YYYY field; no date at all: the whole write is refused, every field with it.
    const refused = await call('PATCH', members(`/${hash}`), { merge_fields: { FNAME: 'Ada', RENEWAL: '12/25/2024', JOINED: 'DecDec/MonMon/2019201920192019' } });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      title: 'Invalid Resource',
      detail: 'Your merge fields were invalid.',
      errors: [
        { field: 'RENEWAL', message: 'Please enter the date' },
        { field: 'JOINED', message: 'Please enter the date' },
      ],
    });
    expect(fake.member(hash)).toMatchObject({ merge_fields: { FNAME: '', JOINED: '2018-04-15', RENEWAL: '2024-04-03' } });
    expect((await call('GET', `/lists/${fake.list.id}/merge-fields`)).body).toMatchObject({ merge_fields: expect.arrayContaining([expect.objectContaining({ tag: 'RENEWAL', type: 'date', options: { date_format: 'DD/MM/YYYY' } })]) });
  });

  it('a cleaned address cannot be subscribed again; a required merge field must be given', async () => {
    const member = fake.seedMember({ email_address: 'bounce@example.com' });
    fake.person.clean(member.id);
    expect((await call('PATCH', members(`/${member.id}`), { status: 'subscribed' })).body).toMatchObject({
      status: 400,
      title: 'Member In Compliance State',
      detail: 'bounce@example.com is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.',
    });
    fake.addMergeField({ tag: 'COMPANY', type: 'text', required: true });
    const refused = await call('PUT', members(`/${subscriberHash('x@example.com')}`), { email_address: 'x@example.com', status_if_new: 'subscribed' });
    expect(refused.body).toMatchObject({ status: 400, errors: [{ field: 'COMPANY', message: 'Please enter a value' }] });
    const skipped = await call('PUT', `${members(`/${subscriberHash('x@example.com')}`)}?skip_merge_validation=true`, { email_address: 'x@example.com', status_if_new: 'subscribed' });
    expect(skipped.status).toBe(200);
  });

  it('DELETE archives: the member stays, read with status archived, listed only when asked for; delete-permanent removes it', async () => {
    const member = fake.seedMember({ email_address: 'leaving@example.com' });
    fake.seedMember({ email_address: 'staying@example.com' });
    fake.clock.advance(1);
    expect((await call('DELETE', members(`/${member.id}`))).status).toBe(204);
    expect((await call('GET', members(`/${member.id}`))).body).toMatchObject({ status: 'archived', last_changed: '2024-06-03T12:00:01+00:00' });
    const again = await call('DELETE', members(`/${member.id}`));
    expect(again.status).toBe(405);
    expect(again.headers.get('allow')).toBe('GET, PUT');
    expect(again.body).toMatchObject({ title: 'Method Not Allowed', detail: 'This list member cannot be removed. Can not archive a contact that is bounced, pending or archived' });
    const listed = await call('GET', members());
    expect(listed.body).toMatchObject({ total_items: 1, members: [{ email_address: 'staying@example.com' }] });
    expect((await call('GET', `${members()}?status=archived`)).body).toMatchObject({ total_items: 1, members: [{ id: member.id, status: 'archived' }] });
    // PUT brings an archived member back.
    const back = await call('PUT', members(`/${member.id}`), { email_address: 'leaving@example.com', status_if_new: 'subscribed' });
    expect(back.body).toMatchObject({ status: 'subscribed' });
    expect((await call('POST', members(`/${member.id}/actions/delete-permanent`))).status).toBe(204);
    expect((await call('GET', members(`/${member.id}`))).status).toBe(404);
    expect((await call('DELETE', members(`/${subscriberHash('nobody@example.com')}`))).status).toBe(404);
  });

  it('archives no member that is pending or cleaned', async () => {
    const pending = fake.seedMember({ email_address: 'unconfirmed@example.com', status: 'pending' });
    const cleaned = fake.seedMember({ email_address: 'bounced@example.com' });
    fake.person.clean(cleaned.id);
    for (const member of [pending, cleaned]) {
      const refused = await call('DELETE', members(`/${member.id}`));
      expect(refused.status).toBe(405);
      expect(refused.body).toMatchObject({ detail: 'This list member cannot be removed. Can not archive a contact that is bounced, pending or archived' });
    }
    expect(fake.member(pending.id)).toMatchObject({ status: 'pending' });
    expect(fake.member(cleaned.id)).toMatchObject({ status: 'cleaned' });
  });

  it('adds no address deleted for good, in any way, until the person signs up again', async () => {
    const member = fake.seedMember({ email_address: 'Forgotten@example.com' });
    expect((await call('POST', members(`/${member.id}/actions/delete-permanent`))).status).toBe(204);
    const forgotten = { status: 400, title: 'Forgotten Email Not Subscribed', detail: 'forgotten@example.com was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.' };
    expect((await call('PUT', members(`/${member.id}`), { email_address: 'forgotten@example.com', status_if_new: 'subscribed' })).body).toMatchObject(forgotten);
    expect((await call('PUT', members(`/${member.id}`), { email_address: 'forgotten@example.com', status_if_new: 'pending', status: 'pending' })).body).toMatchObject(forgotten);
    expect((await call('POST', members(), { email_address: 'forgotten@example.com', status: 'pending' })).body).toMatchObject(forgotten);
    expect(fake.member(member.id)).toBeNull();
    // Through a signup form the person comes back, and then the API may write them as any member.
    fake.person.subscribe({ email_address: 'forgotten@example.com' });
    expect((await call('PUT', members(`/${member.id}`), { email_address: 'forgotten@example.com', status_if_new: 'subscribed', merge_fields: { FNAME: 'Back' } })).status).toBe(200);
  });

  it('subscribes no one who unsubscribed themselves, but one the API unsubscribed; pending asks them to confirm', async () => {
    const opted = fake.seedMember({ email_address: 'opted.out@example.com' });
    const unsubscribed = fake.seedMember({ email_address: 'by.api@example.com' });
    fake.person.unsubscribe(opted.id);
    expect((await call('PATCH', members(`/${unsubscribed.id}`), { status: 'unsubscribed' })).status).toBe(200);
    const compliance = { status: 400, title: 'Member In Compliance State', detail: 'opted.out@example.com is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.' };
    expect((await call('PATCH', members(`/${opted.id}`), { status: 'subscribed', merge_fields: { FNAME: 'Opted' } })).body).toMatchObject(compliance);
    expect((await call('PUT', members(`/${opted.id}`), { email_address: 'opted.out@example.com', status_if_new: 'subscribed', status: 'subscribed' })).body).toMatchObject(compliance);
    // Nothing of a refused write is applied; a write without status is.
    expect(fake.member(opted.id)).toMatchObject({ status: 'unsubscribed', merge_fields: { FNAME: '' } });
    expect((await call('PATCH', members(`/${opted.id}`), { merge_fields: { FNAME: 'Opted' } })).body).toMatchObject({ status: 'unsubscribed', merge_fields: { FNAME: 'Opted' } });
    expect((await call('PATCH', members(`/${unsubscribed.id}`), { status: 'subscribed' })).body).toMatchObject({ status: 'subscribed' });
    expect((await call('PATCH', members(`/${opted.id}`), { status: 'pending' })).body).toMatchObject({ status: 'pending' });
  });

  it('sets tags active and inactive; a member shows at most 50, tags_count all', async () => {
    const member = fake.seedMember({ email_address: 'tagged@example.com' });
    const tags = Array.from({ length: 55 }, (_, i) => ({ name: `t${i}`, status: 'active' }));
    expect((await call('POST', members(`/${member.id}/tags`), { tags })).status).toBe(204);
    expect((await call('POST', members(`/${member.id}/tags`), { tags: [{ name: 't0', status: 'inactive' }, { name: 'new', status: 'active' }] })).status).toBe(204);
    const read = (await call('GET', members(`/${member.id}`))).body as { tags: unknown[]; tags_count: number };
    expect(read.tags).toHaveLength(50);
    expect(read.tags_count).toBe(55);
    const all = await call('GET', `${members(`/${member.id}/tags`)}?count=100`);
    expect((all.body?.tags as Array<{ name: string }>).map((tag) => tag.name)).toContain('new');
    expect((all.body?.tags as Array<{ name: string }>).map((tag) => tag.name)).not.toContain('t0');
  });
});

describe('listing', () => {
  it('pages by count and offset with total_items; since_last_changed and before_last_changed are exclusive; sorts by last_changed', async () => {
    const at = (second: number) => new Date(start + second * 1000);
    fake.seedMember({ email_address: 'a@example.com', lastChanged: at(10) });
    fake.seedMember({ email_address: 'b@example.com', lastChanged: at(20) });
    fake.seedMember({ email_address: 'c@example.com', lastChanged: at(20) });
    fake.seedMember({ email_address: 'd@example.com', lastChanged: at(30) });
    const list = async (query: string) => (await call('GET', `${members()}?${query}`)).body as { members: Array<{ email_address: string; last_changed: string }>; total_items: number };
    const emails = (body: { members: Array<{ email_address: string }> }) => body.members.map((member) => member.email_address);

    const sorted = await list('sort_field=last_changed&sort_dir=ASC&count=2&offset=1');
    expect(sorted.total_items).toBe(4);
    expect(sorted.members.map((member) => member.last_changed)).toEqual(['2024-06-03T12:00:20+00:00', '2024-06-03T12:00:20+00:00']);
    expect(emails(await list('sort_field=last_changed&sort_dir=DESC&count=1'))).toEqual(['d@example.com']);
    // "changed after": a member changed in the very second named is not listed.
    expect(emails(await list(`since_last_changed=${encodeURIComponent('2024-06-03T12:00:20+00:00')}`))).toEqual(['d@example.com']);
    expect(emails(await list(`since_last_changed=2024-06-03T12:00:19Z&before_last_changed=2024-06-03T12:00:30Z&sort_field=last_changed`)).sort()).toEqual(['b@example.com', 'c@example.com']);
    expect((await list('count=5000')).members).toHaveLength(4);
    expect((await list('')).members).toHaveLength(4);
    expect((await call('GET', `${members()}?since_last_changed=yesterday`)).body).toMatchObject({ status: 400, errors: [{ field: 'since_last_changed' }] });
    expect((await call('GET', `${members()}?status=gone`)).body).toMatchObject({ status: 400 });
  });

  it('lists merge fields and audiences as Mailchimp shows them', async () => {
    const fields = (await call('GET', `/lists/${fake.list.id}/merge-fields?count=2`)).body as { merge_fields: Array<Record<string, unknown>>; total_items: number };
    expect(fields.total_items).toBe(5);
    expect(fields.merge_fields).toEqual([
      expect.objectContaining({ tag: 'FNAME', name: 'First Name', type: 'text', required: false, list_id: fake.list.id }),
      expect.objectContaining({ tag: 'LNAME', type: 'text' }),
    ]);
    expect((await call('GET', '/lists/nope/merge-fields')).status).toBe(404);
  });
});

describe('batch operations', () => {
  it('runs in the background, one batch after another, and answers a gzipped tar of results by operation_id', async () => {
    await fake.close();
    fake = await startMailchimpFake({ clockStart: start, batchTiming: { startDelaySeconds: 2, operationsPerSecond: 1 } });
    const operations = [
      { method: 'PUT', path: `/lists/${fake.list.id}/members/${subscriberHash('one@example.com')}`, operation_id: 'op-1', body: JSON.stringify({ email_address: 'one@example.com', status_if_new: 'subscribed' }) },
      { method: 'PATCH', path: `/lists/${fake.list.id}/members/${subscriberHash('nobody@example.com')}`, operation_id: 'op-2', body: JSON.stringify({ status: 'unsubscribed' }) },
      { method: 'GET', path: `/lists/${fake.list.id}/members`, operation_id: 'op-3', params: { count: 1 } },
    ];
    const submitted = await call('POST', '/batches', { operations });
    expect(submitted.body).toMatchObject({ status: 'pending', total_operations: 3, finished_operations: 0, errored_operations: 0, submitted_at: '2024-06-03T12:00:00+00:00', completed_at: '', response_body_url: '' });
    const id = submitted.body?.id as string;
    const second = await call('POST', '/batches', { operations: [operations[0]] });
    expect(fake.member('one@example.com')).toBeNull();

    fake.clock.advance(3);
    expect((await call('GET', `/batches/${id}`)).body).toMatchObject({ status: 'started', finished_operations: 1 });
    fake.clock.advance(2);
    const finished = (await call('GET', `/batches/${id}`)).body as Record<string, unknown>;
    expect(finished).toMatchObject({ status: 'finished', finished_operations: 3, errored_operations: 1, completed_at: '2024-06-03T12:00:05+00:00' });
    expect(fake.member('one@example.com')).toMatchObject({ status: 'subscribed' });
    // The second batch waits for the first.
    expect((await call('GET', `/batches/${second.body?.id as string}`)).body).toMatchObject({ status: 'started', finished_operations: 0 });

    const url = finished.response_body_url as string;
    expect((await fetch(url, { headers: { authorization: `Bearer ${fake.oauthToken}` } })).status).toBe(400);
    const results = await batchResults(url);
    expect(results.get('op-1')?.status_code).toBe(200);
    expect(JSON.parse(results.get('op-1')?.response ?? '')).toMatchObject({ email_address: 'one@example.com' });
    expect(results.get('op-2')?.status_code).toBe(404);
    expect(JSON.parse(results.get('op-2')?.response ?? '')).toMatchObject({ title: 'Resource Not Found' });
    expect(JSON.parse(results.get('op-3')?.response ?? '')).toMatchObject({ total_items: 1 });
    expect((await call('POST', '/batches', { operations: [{ method: 'PUT', path: '/lists', body: { not: 'a string' } }] })).body).toMatchObject({ status: 400 });
  });

  it('answers in a batch what the same request answers alone: an archive refused, an address deleted for good', async () => {
    const archived = fake.seedMember({ email_address: 'archived@example.com' });
    fake.person.archive(archived.id);
    const forgotten = fake.seedMember({ email_address: 'forgotten@example.com' });
    fake.account.deletePermanently(fake.list, forgotten);
    const operations = [
      { method: 'DELETE', path: `/lists/${fake.list.id}/members/${archived.id}`, operation_id: 'archive' },
      { method: 'PUT', path: `/lists/${fake.list.id}/members/${forgotten.id}`, operation_id: 'add', body: JSON.stringify({ email_address: 'forgotten@example.com', status_if_new: 'subscribed' }) },
    ];
    const id = (await call('POST', '/batches', { operations })).body?.id as string;
    fake.clock.advance(3);
    const finished = (await call('GET', `/batches/${id}`)).body as Record<string, unknown>;
    expect(finished).toMatchObject({ status: 'finished', errored_operations: 2 });
    const results = await batchResults(finished.response_body_url as string);
    expect(results.get('archive')?.status_code).toBe(405);
    expect(JSON.parse(results.get('archive')?.response ?? '')).toMatchObject({ title: 'Method Not Allowed', detail: 'This list member cannot be removed. Can not archive a contact that is bounced, pending or archived' });
    expect(results.get('add')?.status_code).toBe(400);
    expect(JSON.parse(results.get('add')?.response ?? '')).toMatchObject({ title: 'Forgotten Email Not Subscribed' });
  });
});

/** A finished batch's results, read from its gzipped tar by operation_id. */
async function batchResults(url: string): Promise<Map<string, { status_code: number; response: string }>> {
  const archive = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const results = new Map<string, { status_code: number; response: string }>();
  const reader = extract();
  Readable.from([gunzipSync(archive)]).pipe(reader);
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (entry.header.name.endsWith('.json')) for (const result of JSON.parse(Buffer.concat(chunks).toString('utf8')) as Array<{ operation_id: string; status_code: number; response: string }>) results.set(result.operation_id, result);
  }
  return results;
}

describe('webhooks', () => {
  let receiver: Receiver;
  let received: ReceivedRequest[];
  let answerGet = 200;
  let address = '';

  beforeEach(async () => {
    received = [];
    answerGet = 200;
    receiver = await startReceiver((request) => {
      received.push(request);
      return request.method === 'GET' ? answerGet : 200;
    });
    address = `${receiver.origin}/hooks/flow/node?secret=s3cret`;
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('checks the URL with a GET before saving, refuses one that does not answer 200, and one already there', async () => {
    answerGet = 404;
    expect((await call('POST', `/lists/${fake.list.id}/webhooks`, { url: address })).body).toMatchObject({ status: 400, errors: [{ field: 'url' }] });
    answerGet = 200;
    const created = await call('POST', `/lists/${fake.list.id}/webhooks`, { url: address, events: { campaign: false }, sources: { api: false } });
    expect(created.body).toMatchObject({ url: address, list_id: fake.list.id, events: { subscribe: true, campaign: false }, sources: { user: true, admin: true, api: false } });
    expect(received.filter((entry) => entry.method === 'GET').map((entry) => [entry.url, entry.headers['user-agent']])).toEqual([
      ['/hooks/flow/node?secret=s3cret', 'MailChimp.com WebHook Validator'],
      ['/hooks/flow/node?secret=s3cret', 'MailChimp.com WebHook Validator'],
    ]);
    expect((await call('POST', `/lists/${fake.list.id}/webhooks`, { url: address })).body).toMatchObject({ status: 400 });
    const id = created.body?.id as string;
    expect((await call('PATCH', `/lists/${fake.list.id}/webhooks/${id}`, { sources: { api: true } })).body).toMatchObject({ sources: { api: true } });
    expect((await call('GET', `/lists/${fake.list.id}/webhooks`)).body).toMatchObject({ total_items: 1 });
    expect((await call('DELETE', `/lists/${fake.list.id}/webhooks/${id}`)).status).toBe(204);
    expect((await call('GET', `/lists/${fake.list.id}/webhooks`)).body).toMatchObject({ total_items: 0, webhooks: [] });
  });

  it('delivers form-encoded events with bracketed keys, from the sources it was given', async () => {
    await call('POST', `/lists/${fake.list.id}/webhooks`, { url: address, sources: { user: true, admin: true, api: false } });
    received = [];
    const member = fake.seedMember({ email_address: 'Lin@Example.com', merge_fields: { FNAME: 'Lin' } });
    fake.person.edit(member.id, { merge_fields: { FNAME: 'Lin Y.' } });
    fake.person.changeEmail(member.id, 'lin.y@example.com');
    fake.person.unsubscribe('lin.y@example.com');
    // An API change is not sent to a webhook without the api source.
    await call('PATCH', members(`/${subscriberHash('lin.y@example.com')}`), { merge_fields: { LNAME: 'Yu' } });
    fake.person.archive('lin.y@example.com');
    await fake.webhooks.idle();
    const forms = received.map((entry) => new URLSearchParams(entry.body));
    expect(forms.map((form) => form.get('type'))).toEqual(['profile', 'upemail', 'unsubscribe', 'unsubscribe']);
    expect(received[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(received[0]?.headers['user-agent']).toBe('MailChimp.com');
    expect(received[0]?.body).toContain('data%5Bmerges%5D%5BFNAME%5D=Lin+Y.');
    expect(forms[0]?.get('fired_at')).toBe('2024-06-03 12:00:00');
    expect(forms[0]?.get('data[email]')).toBe('Lin@Example.com');
    expect(forms[1]?.get('data[old_email]')).toBe('Lin@Example.com');
    expect(forms[1]?.get('data[new_email]')).toBe('lin.y@example.com');
    expect(forms[2]?.get('data[action]')).toBe('unsub');
    expect(forms[3]?.get('data[action]')).toBe('delete');
    // A redelivery is the same body.
    fake.webhooks.redeliver(fake.webhooks.deliveries[0] as Delivery);
    await fake.webhooks.idle();
    expect(received.at(-1)?.body).toBe(received[0]?.body);
  });
});
