import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import { ConnectorError, RateLimitedError, type Connector } from '../types';
import { HubSpotCredentialsError } from './client';
import { contextFor, fakeTime, startFake } from './fakeAccount';
import { openHubSpot } from './index';

// HubSpot's limits as its answers state them: waited out within a pass when short, a clean stop when the day's budget
// is gone, never taken for a credentials problem.

let fake: HubSpotFake;
let connector: Connector;
let time: ReturnType<typeof fakeTime>;

async function open(extra: Record<string, unknown> = {}, token?: () => string): Promise<Connector> {
  time = fakeTime(fake);
  connector = await openHubSpot(contextFor(fake, 'contacts', extra, token), time);
  return connector;
}

beforeEach(async () => {
  fake = await startFake({ searchLagMs: 0 });
});
afterEach(async () => {
  await connector.close();
  await fake.close();
});

const statuses = () => fake.requests.map((entry) => entry.status);

describe('the ten-second limit', () => {
  it('waits out a 429 TEN_SECONDLY_ROLLING for the window X-HubSpot-RateLimit-Interval-Milliseconds names, then goes on', async () => {
    await open();
    const id = fake.seed('contacts', { email: 'a@example.com' });
    fake.limits.failNext(1, 'TEN_SECONDLY_ROLLING');
    const found = await connector.getMany([id]);
    expect(found.get(id)?.fields).toEqual({ properties: { email: 'a@example.com', firstname: null, lastname: null } });
    expect(statuses()).toEqual([429, 200, 200]);
    expect(time.waits).toEqual([10_000]);
  });

  it('holds its requests when a window shows none left, instead of meeting the 429', async () => {
    await open();
    fake.limits.setTenSecondly(3);
    for (let i = 0; i < 5; i++) fake.seed('contacts', { email: `c${i}@example.com` });
    const ids = [...fake.portal.objects.contacts.keys()];
    for (const id of ids) await connector.getMany([id]);
    expect(statuses().filter((status) => status === 429)).toEqual([]);
    expect(time.waits.filter((ms) => ms > 0).length).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(ids.length + 1);
  });

  it('stops the pass with RateLimitedError when the wait is longer than the pass waits', async () => {
    await open({ maxWaitSeconds: 5 });
    fake.limits.failNext(1, 'TEN_SECONDLY_ROLLING');
    const failure = await connector.listSince({ since: null, afterId: null }, 10).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RateLimitedError);
    expect(failure).not.toBeInstanceOf(ConnectorError);
    expect((failure as RateLimitedError).resumeAt.getTime()).toBe(fake.clock.now().getTime() + 10_000);
  });
});

describe('the search limit', () => {
  it('spaces searches a quarter second apart, and waits a second out when the account searched elsewhere', async () => {
    await open();
    await connector.describe();
    fake.seed('contacts', { email: 'a@example.com' });
    fake.limits.failNext(1, 'SECONDLY');
    await connector.listSince({ since: '2024-06-03T12:10:00.000Z', afterId: null }, 10);
    const searches = () => fake.requests.filter((entry) => entry.route === 'POST /crm/v3/objects/{objectType}/search');
    expect(searches().map((entry) => entry.status)).toEqual([429, 200]);
    expect(time.waits).toEqual([1000]);
    // The next search comes a quarter second after the last one began, however soon it is asked for.
    await connector.listSince({ since: '2024-06-03T12:10:00.000Z', afterId: null }, 10);
    expect(searches().map((entry) => entry.status)).toEqual([429, 200, 200]);
    expect(time.waits).toEqual([1000, 250]);
  });
});

describe('the daily limit', () => {
  it('ends a listing with RateLimitedError until midnight, not as a credentials problem', async () => {
    await open();
    fake.limits.exhaustDaily();
    const failure = await connector.listSince({ since: null, afterId: null }, 10).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RateLimitedError);
    expect((failure as RateLimitedError).resumeAt.toISOString()).toBe('2024-06-04T00:00:00.000Z');
    expect((failure as Error).message).toContain('daily');
    expect(time.waits).toEqual([]);
  });

  it('fails the write that met it and every later one, retryable, with when to come back', async () => {
    await open();
    await connector.describe();
    const id = fake.seed('contacts', { email: 'a@example.com' });
    fake.limits.exhaustDaily();
    const results = await connector.write([
      { kind: 'update', id, fields: { properties: { firstname: 'A' } }, tag: 't', expectedVersion: null },
      { kind: 'create', fields: { properties: { email: 'b@example.com' } }, tag: 't' },
    ]);
    const retryAfterMs = Date.parse('2024-06-04T00:00:00.000Z') - fake.clock.now().getTime();
    for (const result of results) expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: true, retryAfterMs });
    expect(fake.countRequests()).toBe(2); // the properties, then the refused update: the create is not sent
  });
});

describe('credentials', () => {
  it('reports a refused token as the credential, naming it, and never waits for it', async () => {
    await open({}, () => 'pat-na1-revoked');
    const failure = await connector.describe().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(HubSpotCredentialsError);
    expect((failure as Error).message).toMatch(/401.*credential "hubspot-token"/);
    expect(failure).not.toBeInstanceOf(RateLimitedError);
    expect(time.waits).toEqual([]);
  });

  it('takes an OAuth2 access token the store refreshed meanwhile, retrying a 401 with it once', async () => {
    fake.addOAuthToken('refreshed-access-token');
    fake.expireToken(fake.tokens.oauth);
    // The credential store hands out the expired token once, then the one its refresh obtained.
    let asks = 0;
    await open({}, () => (++asks === 1 ? fake.tokens.oauth : 'refreshed-access-token'));
    const id = fake.seed('contacts', { email: 'a@example.com' });
    expect((await connector.getMany([id])).get(id)).toBeDefined();
    expect(statuses()).toEqual([401, 200, 200]);
  });
});
