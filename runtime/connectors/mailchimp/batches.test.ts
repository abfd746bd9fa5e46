import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import type { Connector, WriteOp } from '../types';
import { readResults } from './batches';
import { openMailchimp, subscriberHash, type MailchimpOptions } from './index';
import { contextFor, fakeTime, startFake } from './test-support';

let fake: MailchimpFake;
let connector: Connector | undefined;
afterEach(async () => {
  await connector?.close();
  await fake?.close();
  connector = undefined;
  fake = undefined as unknown as MailchimpFake;
});

const memberRoutes = ['PUT /lists/{list_id}/members/{subscriber_hash}', 'PATCH /lists/{list_id}/members/{subscriber_hash}', 'DELETE /lists/{list_id}/members/{subscriber_hash}', 'POST /lists/{list_id}/members/{subscriber_hash}/tags'];
const direct = () => memberRoutes.reduce((sum, route) => sum + fake.countRequests(route), 0);

describe('a large write goes as batch operations', () => {
  it('maps every operation’s result back to its op, creates’ tags after their members exist', async () => {
    fake = await startFake();
    const cleaned = fake.seedMember({ email_address: 'bounced@example.com' });
    fake.person.clean(cleaned.id);
    const existing = Array.from({ length: 40 }, (_, i) => fake.seedMember({ email_address: `old${i}@example.com`, merge_fields: { FNAME: `Old ${i}`, LNAME: 'Keep' } }));
    const leaving = Array.from({ length: 9 }, (_, i) => fake.seedMember({ email_address: `leaving${i}@example.com` }));
    const time = fakeTime(fake);
    connector = await openMailchimp(contextFor(fake), time);
    const ops: WriteOp[] = [
      ...Array.from({ length: 250 }, (_, i): WriteOp => ({ kind: 'create', fields: { email_address: `new${i}@example.com`, merge_fields: { FNAME: `New ${i}` }, tags: ['imported'] }, tag: `t${i}` })),
      ...existing.map((member, i): WriteOp => ({ kind: 'update', id: member.id, fields: { merge_fields: { FNAME: `Renamed ${i}` } }, tag: `u${i}`, expectedVersion: null })),
      ...leaving.map((member): WriteOp => ({ kind: 'delete', id: member.id, expectedVersion: null })),
      // Mailchimp refuses to subscribe a cleaned address: this one fails, alone.
      { kind: 'update', id: cleaned.id, fields: { status: 'subscribed' }, tag: 'c', expectedVersion: null },
    ];
    const results = await connector.write(ops);

    expect(fake.countRequests('POST /batches')).toBe(2);
    expect(direct()).toBe(0);
    expect(fake.countRequests('GET /batch-results/{batch_id}')).toBe(2);
    expect(time.waits.length).toBeGreaterThan(0);
    expect(results.slice(0, 250).every((result, i) => result.ok && result.id === subscriberHash(`new${i}@example.com`) && result.version !== null)).toBe(true);
    expect(results.slice(250, 290).every((result, i) => result.ok && result.id === existing[i]?.id && result.version !== null)).toBe(true);
    expect(results.slice(290, 299)).toEqual(leaving.map((member) => ({ ok: true, id: member.id, version: null })));
    expect(results[299]).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('Member In Compliance State') });

    expect(fake.member('new7@example.com')).toMatchObject({ merge_fields: { FNAME: 'New 7' }, tags: [{ name: 'imported' }] });
    expect(fake.member(existing[3]?.id as string)).toMatchObject({ merge_fields: { FNAME: 'Renamed 3', LNAME: 'Keep' } });
    expect(fake.member(leaving[0]?.id as string)).toMatchObject({ status: 'archived' });
    // Created members read back from the batch's answers, without a request each.
    const before = fake.requests.length;
    const read = await connector.getMany(results.slice(0, 250).map((result) => (result.ok ? result.id : '')));
    expect(read.size).toBe(250);
    expect(read.get(subscriberHash('new7@example.com'))?.fields.tags).toEqual(['imported']);
    expect(fake.requests.length).toBe(before);
  });

  it('archives in a batch as one by one: what is archived already succeeds, a pending or cleaned member is refused', async () => {
    fake = await startFake();
    const members = ['stays', 'archived', 'pending', 'cleaned'].map((name) => fake.seedMember({ email_address: `${name}@example.com`, status: name === 'pending' ? 'pending' : 'subscribed' }));
    const [subscribed, archived, pending, cleaned] = members.map((member) => member.id) as [string, string, string, string];
    fake.person.archive(archived);
    fake.person.clean(cleaned);
    connector = await openMailchimp(contextFor(fake), { ...fakeTime(fake), batchThreshold: 2 });
    const results = await connector.write([subscribed, archived, pending, cleaned, subscriberHash('never@example.com')].map((id): WriteOp => ({ kind: 'delete', id, expectedVersion: null })));
    expect(fake.countRequests('POST /batches')).toBe(1);
    expect(results.slice(0, 2)).toEqual([
      { ok: true, id: subscribed, version: null },
      { ok: true, id: archived, version: null },
    ]);
    expect(results.slice(2, 4)).toEqual([
      { ok: false, reason: 'failed', retryable: false, message: expect.stringMatching(/^archiving member \w+: Mailchimp cannot archive a pending member/) },
      { ok: false, reason: 'failed', retryable: false, message: expect.stringMatching(/^archiving member \w+: Mailchimp cannot archive a cleaned member/) },
    ]);
    expect(results[4]).toEqual({ ok: false, reason: 'missing' });
    expect(fake.member(subscribed)).toMatchObject({ status: 'archived' });
  });

  it('writes a handful one by one', async () => {
    fake = await startFake();
    connector = await openMailchimp(contextFor(fake), fakeTime(fake));
    await connector.write(Array.from({ length: 5 }, (_, i): WriteOp => ({ kind: 'create', fields: { email_address: `few${i}@example.com` }, tag: `t${i}` })));
    expect(fake.countRequests('POST /batches')).toBe(0);
    expect(direct()).toBe(5);
  });

  it('an initial sync of 5,000 members with a tag each, 500 ops a write as the engine sends them, takes few requests', async () => {
    fake = await startFake();
    connector = await openMailchimp(contextFor(fake), fakeTime(fake));
    for (let chunk = 0; chunk < 10; chunk++) {
      const ops = Array.from({ length: 500 }, (_, i): WriteOp => ({ kind: 'create', fields: { email_address: `c${chunk * 500 + i}@example.com`, merge_fields: { FNAME: 'Lead' }, tags: ['crm'] }, tag: `t${i}` }));
      expect((await connector.write(ops)).every((result) => result.ok)).toBe(true);
    }
    expect(fake.account.list(fake.list.id).members.size).toBe(5000);
    // Per write of 500: two batches (members, then their tags), each submitted, polled twice and its archive fetched;
    // and the merge fields once: 81 requests where one by one would take 10,000.
    expect(fake.countRequests('POST /batches')).toBe(20);
    expect(fake.countRequests('GET /batch-results/{batch_id}')).toBe(20);
    expect(fake.requests.length).toBeLessThanOrEqual(20 * 4 + 1);
    expect(fake.maxConcurrent()).toBeLessThanOrEqual(4);
  });

  it('reports the writes of a batch that does not finish in time as not done, to be written again', async () => {
    fake = await startFake({ batchTiming: { startDelaySeconds: 3600 } });
    const options: MailchimpOptions = { ...fakeTime(fake), batchThreshold: 2, batchTiming: { maxWaitMs: 60_000 } };
    connector = await openMailchimp(contextFor(fake), options);
    const results = await connector.write([
      { kind: 'create', fields: { email_address: 'slow1@example.com' }, tag: 't1' },
      { kind: 'create', fields: { email_address: 'slow2@example.com' }, tag: 't2' },
    ]);
    expect(results).toEqual([0, 1].map(() => ({ ok: false, reason: 'failed', retryable: true, message: expect.stringMatching(/has not finished after 6\d s .*it was stopped, .*safe to repeat/) })));
    // Stopped, it never runs: a later pass's newer writes cannot be overtaken by these.
    expect(fake.countRequests('DELETE /batches/{batch_id}')).toBe(1);
    fake.clock.advance(2 * 3_600_000);
    // The batch queue catches up when it is next asked about; a batch left queued would have run by now.
    const queued = await fetch(`${fake.url}/3.0/batches`, { headers: { authorization: `Basic ${Buffer.from(`anystring:${fake.apiKey}`).toString('base64')}` } });
    expect(((await queued.json()) as { total_items: number }).total_items).toBe(0);
    expect(fake.account.list(fake.list.id).members.size).toBe(0);
  });
});

describe('the results archive', () => {
  it('reads every JSON file of the gzipped tar, by operation id, and ignores other entries', async () => {
    const tar = pack();
    const gzip = createGzip();
    const chunks: Buffer[] = [];
    gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = new Promise((resolve) => gzip.on('end', resolve));
    tar.pipe(gzip);
    tar.entry({ name: 'batch/', type: 'directory' });
    tar.entry({ name: 'batch/a.json' }, JSON.stringify([{ status_code: 200, operation_id: '0.member', response: '{"id":"x"}' }]));
    tar.entry({ name: 'batch/readme.txt' }, 'not results');
    tar.entry({ name: 'batch/b.json' }, JSON.stringify([{ status_code: 404, operation_id: '1.member', response: '{"title":"Resource Not Found"}' }, { status_code: 204, operation_id: '1.tags', response: '' }]));
    tar.finalize();
    await done;
    const answers = await readResults(Buffer.concat(chunks), 'b1');
    expect([...answers]).toEqual([
      ['0.member', { status: 200, body: { id: 'x' }, text: '{"id":"x"}' }],
      ['1.member', { status: 404, body: { title: 'Resource Not Found' }, text: '{"title":"Resource Not Found"}' }],
      ['1.tags', { status: 204, body: null, text: '' }],
    ]);
    await expect(readResults(Buffer.from('not gzip'), 'b2')).rejects.toThrow('batch b2: the results archive is not gzip');
  });
});
