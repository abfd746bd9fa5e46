import { afterEach, describe, expect, it } from 'vitest';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import { RateLimitedError, type Connector } from '../types';
import { openMailchimp } from './index';
import { contextFor, fakeTime, startFake } from './test-support';

let fake: MailchimpFake;
let connector: Connector | undefined;
afterEach(async () => {
  await connector?.close();
  await fake.close();
  connector = undefined;
});

const start = { since: null, afterId: null };

describe("Mailchimp's 429 TooManyRequests (10 simultaneous connections per user)", () => {
  it('waits out a short one within the pass, with growing pauses (Mailchimp sends no Retry-After)', async () => {
    fake = await startFake();
    fake.seedMember({ email_address: 'a@example.com', lastChanged: Date.parse('2024-06-03T11:00:00Z') });
    const time = fakeTime(fake);
    connector = await openMailchimp(contextFor(fake), time);
    fake.failNextRequests(2);
    const page = await connector.listSince(start, 10);
    expect(page.records.map((record) => record.fields.email_address)).toEqual(['a@example.com']);
    expect(time.waits).toEqual([1000, 2000]);
  });

  it('stops the pass with RateLimitedError when it lasts longer, never calling it a credential problem', async () => {
    fake = await startFake();
    const time = fakeTime(fake);
    connector = await openMailchimp(contextFor(fake), time);
    fake.failNextRequests(100);
    const error = await connector.listSince(start, 10).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Mailchimp rate limit reached \(GET \/3\.0\/lists\/a1b2c3d4e5\/merge-fields\?count=1000&offset=0: Too Many Requests — You have exceeded the limit of 10 simultaneous connections\.; still limited after waiting 15 s/);
    expect(message).not.toMatch(/credential|refused|check the stored/i);
    expect(time.waits).toEqual([1000, 2000, 4000, 8000]);
    expect((error as RateLimitedError).resumeAt.getTime()).toBe(fake.clock.now().getTime() + 60_000);
  });

  it('waits no longer than connection.maxWaitSeconds', async () => {
    fake = await startFake();
    const time = fakeTime(fake);
    connector = await openMailchimp(contextFor(fake, { maxWaitSeconds: 2 }), time);
    fake.failNextRequests(3);
    await expect(connector.getMany(['0'.repeat(32)])).rejects.toBeInstanceOf(RateLimitedError);
    expect(time.waits).toEqual([1000]);
  });

  it('fails the writes it could not make as retryable, saying when to come back, and sends no more', async () => {
    fake = await startFake();
    const members = ['a', 'b', 'c'].map((name) => fake.seedMember({ email_address: `${name}@example.com` }));
    connector = await openMailchimp(contextFor(fake), fakeTime(fake));
    await connector.getMany(members.map((member) => member.id));
    fake.failNextRequests(100);
    const results = await connector.write(members.map((member) => ({ kind: 'update' as const, id: member.id, fields: { merge_fields: { FNAME: 'X' } }, tag: 't', expectedVersion: null })));
    expect(results).toEqual(members.map(() => ({ ok: false, reason: 'failed', retryable: true, retryAfterMs: 60_000, message: expect.stringContaining('Mailchimp rate limit reached') })));
    expect(fake.requests.filter((entry) => entry.method === 'PATCH').length).toBeLessThanOrEqual(4 * 5);
  });

  it('keeps at most four requests open at once', async () => {
    fake = await startFake({ latencyMs: 20 });
    const members = Array.from({ length: 30 }, (_, i) => fake.seedMember({ email_address: `p${i}@example.com` }));
    connector = await openMailchimp(contextFor(fake), fakeTime(fake));
    expect((await connector.getMany(members.map((member) => member.id))).size).toBe(30);
    expect(fake.maxConcurrent()).toBe(4);
  });
});

describe('refused credentials', () => {
  it('say which credential and what to check', async () => {
    fake = await startFake();
    connector = await openMailchimp(contextFor(fake, {}, '11111111111111111111111111111111-us19'), fakeTime(fake));
    await expect(connector.listSince(start, 10)).rejects.toThrow(
      'GET /3.0/lists/a1b2c3d4e5/merge-fields?count=1000&offset=0: 401, Mailchimp refused the credentials (API key from credential "mailchimp-key") — API Key Invalid — Your API key may be invalid, or you\'ve attempted to access the wrong datacenter.: check the stored key or token, and the data center (connection.server, or the -us19 of an API key)',
    );
  });

  it('takes a basic credential (any user name, the key as password) and an oauth2 credential’s token, by their kinds', async () => {
    fake = await startFake();
    for (const resolved of [
      { kind: 'basic' as const, username: 'whoever', password: fake.apiKey },
      { kind: 'bearer' as const, token: fake.oauthToken },
    ]) {
      const context = { ...contextFor(fake), resolveAuth: async () => resolved, resolveCredential: async () => Promise.reject(new Error('not asked')) };
      connector = await openMailchimp(context, fakeTime(fake));
      expect((await connector.listSince(start, 10)).records).toEqual([]);
      await connector.close();
    }
    expect(fake.requests.every((entry) => entry.status === 200)).toBe(true);
  });

  it('an OAuth token goes as a bearer token, and needs connection.server when no baseUrl says where', async () => {
    fake = await startFake();
    connector = await openMailchimp(contextFor(fake, {}, fake.oauthToken), fakeTime(fake));
    expect((await connector.listSince(start, 10)).records).toEqual([]);
    await connector.close();
    const context = contextFor(fake, {}, fake.oauthToken);
    delete (context.config.connection as Record<string, unknown>).baseUrl;
    await expect(openMailchimp(context)).rejects.toThrow('connection.server: is required with an OAuth token, which names no data center');
  });
});
