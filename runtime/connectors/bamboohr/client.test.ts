import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import { ConnectorError, RateLimitedError, type Connector, type ListPosition } from '../types';
import { contextFor, fakeTime, proxiedFetch, startFake } from './fakeCompany';
import { openBambooHr } from './index';

// What the client makes of BambooHR's answers: JSON asked for on every request, an XML answer anyway reported as
// such, throttling waited out in the fake's time when short and ending the pass when long.

let fake: BambooHrFake;
const start: ListPosition = { since: null, afterId: null };
const later: ListPosition = { since: '2024-06-03T11:00:00Z', afterId: null };
let opened: Connector[];

beforeEach(async () => {
  fake = await startFake();
  opened = [];
});

afterEach(async () => {
  for (const connector of opened) await connector.close();
  await fake.close();
});

async function open(extra: Record<string, unknown> = {}, options: Parameters<typeof openBambooHr>[1] = fakeTime(fake)): Promise<Connector> {
  const connector = await openBambooHr(contextFor(fake, { fields: ['firstName', 'lastName'], ...extra }), options);
  opened.push(connector);
  return connector;
}

describe('content negotiation', () => {
  it('asks for JSON on every request, and sends bodies as exactly application/json', async () => {
    const connector = await open();
    const [created] = await connector.write([{ kind: 'create', fields: { firstName: 'Ada', lastName: 'Lovelace' }, tag: 't' }]);
    await connector.listSince(start, 10);
    await connector.listSince(later, 10);
    await connector.describe();
    expect(created).toMatchObject({ ok: true });
    expect(fake.requests.length).toBeGreaterThanOrEqual(5);
    for (const request of fake.requests) expect(request.accept, request.path).toBe('application/json');
    for (const request of fake.requests.filter((entry) => entry.method === 'POST')) expect(request.contentType).toBe('application/json');
  });

  it('reports an XML answer as XML — a proxy that drops the Accept header — instead of misreading it', async () => {
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const stripping = { ...fakeTime(fake), fetch: proxiedFetch((headers) => headers.delete('accept')) };
    const connector = await open({}, stripping);
    const failure = connector.listSince(later, 10);
    await expect(failure).rejects.toThrow(ConnectorError);
    await expect(failure).rejects.toThrow(/GET \/api\/v1\/employees\/changed\?since=.*: BambooHR answered XML \(text\/xml; charset=utf-8\), not JSON, although the request sent Accept: application\/json.*proxy/);
    await expect(connector.describe()).rejects.toThrow(/GET \/api\/v1\/meta\/fields: BambooHR answered XML/);
  });

  it('still reads reports whose Accept header was rewritten, since it names the format in the query', async () => {
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const connector = await open({}, { ...fakeTime(fake), fetch: proxiedFetch((headers) => headers.set('accept', '*/*')) });
    expect((await connector.listSince(start, 10)).records.map((record) => record.fields.firstName)).toEqual(['Ada']);
  });
});

describe('throttling', () => {
  it('waits out a short Retry-After in the fake time and goes on, for 503 and for the 429 of September 2026', async () => {
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    for (const status of [503, 429] as const) {
      const time = fakeTime(fake);
      const connector = await open({}, time);
      fake.failNextRequests(2, { status, retryAfter: 20 });
      const page = await connector.listSince(start, 10);
      expect(page.records).toHaveLength(1);
      expect(time.waits).toEqual([20_000, 20_000]);
    }
  });

  it('ends the pass with RateLimitedError when BambooHR asks for a longer wait than maxWaitSeconds', async () => {
    const connector = await open({ maxWaitSeconds: 30 });
    fake.failNextRequests(1, { retryAfter: 600 });
    const failure = connector.listSince(later, 10);
    await expect(failure).rejects.toThrow(RateLimitedError);
    await expect(failure).rejects.toMatchObject({ resumeAt: new Date(Date.parse('2024-06-03T12:10:00Z')) });
    await expect(failure).rejects.toThrow(/BambooHR rate limit reached \(GET \/api\/v1\/employees\/changed.*503 — Rate limit exceeded; Retry-After 600 s\)/);
  });

  it('stops after three waits in one request; throttling met by writes fails the rest of the batch retryable, never a create that went through', async () => {
    const connector = await open();
    fake.failNextRequests(4, { retryAfter: 5 });
    await expect(connector.listSince(later, 10)).rejects.toThrow(RateLimitedError);
    fake.failNextRequests(0);
    // Room for the field list (read at the first write) and the first create.
    fake.setRateLimit({ requests: 2, perSeconds: 3600 });
    const results = await connector.write([
      { kind: 'create', fields: { firstName: 'A', lastName: 'One' }, tag: 't1' },
      { kind: 'create', fields: { firstName: 'B', lastName: 'Two' }, tag: 't2' },
    ]);
    // The first create went through; only reading its version back was throttled.
    expect(results[0]).toEqual({ ok: true, id: expect.any(String), version: null });
    expect(results[1]).toMatchObject({ ok: false, reason: 'failed', retryable: true, retryAfterMs: expect.any(Number), message: expect.stringMatching(/BambooHR rate limit reached/) });
    expect(fake.company.employees.size).toBe(1);
  });

  it('retries a 503 without Retry-After (BambooHR unavailable) for reads, and reports it retryable when it lasts', async () => {
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const time = fakeTime(fake);
    const connector = await open({}, time);
    fake.failNextRequests(1, { retryAfter: null });
    expect((await connector.listSince(start, 10)).records).toHaveLength(1);
    expect(time.waits).toEqual([500]);
    fake.failNextRequests(3, { retryAfter: null });
    await expect(connector.listSince(start, 10)).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/POST \/api\/v1\/reports\/custom.*: 503/) });
  });
});

describe('credentials', () => {
  it('names the credential when BambooHR refuses the key, never the key', async () => {
    const context = contextFor(fake, { fields: ['firstName'] });
    const connector = await openBambooHr({ ...context, resolveCredential: async () => 'a-revoked-key' }, fakeTime(fake));
    opened.push(connector);
    const failure = connector.listSince(start, 10);
    await expect(failure).rejects.toThrow(/401, BambooHR refused the API key from credential "bamboohr-key".*Invalid API key/);
    await expect(failure).rejects.not.toThrow(/a-revoked-key/);
  });

  it('takes the key from a basic credential’s username', async () => {
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const context = contextFor(fake, { fields: ['firstName'] });
    const connector = await openBambooHr({ ...context, resolveAuth: async () => ({ kind: 'basic', username: 'fake-api-key', password: 'x' }) }, fakeTime(fake));
    opened.push(connector);
    expect((await connector.listSince(start, 10)).records).toHaveLength(1);
  });
});
