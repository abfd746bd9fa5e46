import { afterEach, describe, expect, it } from 'vitest';
import type { ZendeskFake } from '../../../test/fakes/zendesk/server';
import { ConnectorError, RateLimitedError, type Connector, type ListPosition } from '../types';
import { contextFor, fakeTime, startFake } from './fakeAccount';
import { openZendesk, type ZendeskOptions } from './index';

// Zendesk's limits as it states them: 429 with Retry-After in seconds, for the account's per-minute budget and for
// the incremental exports' 10 requests a minute (test/fakes/zendesk/limits.ts).

const start: ListPosition = { since: null, afterId: null };
let fake: ZendeskFake;
let connector: Connector | undefined;

afterEach(async () => {
  await connector?.close();
  connector = undefined;
  await fake.close();
});

async function open(options: ZendeskOptions = {}): Promise<Connector> {
  connector = await openZendesk(contextFor(fake, 'tickets'), options);
  return connector;
}

function seedTicket(subject = 'Printer on fire'): string {
  return String(fake.seedTicket({ subject, description: 'Smoke everywhere' }).id);
}

/** Sets the fake's clock to `second` past the start of a minute. */
function atSecond(second: number): void {
  const now = fake.clock.now().getTime();
  fake.clock.set(Math.floor(now / 60_000) * 60_000 + 60_000 + second * 1000);
}

describe('the account rate limit', () => {
  it('waits out a 429 with a short Retry-After, in real time, and goes on', async () => {
    fake = await startFake();
    const id = seedTicket();
    await open();
    fake.failNextRequests(1, { retryAfter: 1 });
    const began = performance.now();
    const read = await (connector as Connector).getMany([id]);
    expect(read.get(id)?.fields.subject).toBe('Printer on fire');
    expect(performance.now() - began).toBeGreaterThanOrEqual(950);
    // The first request (the ticket fields) met the 429; after the wait, it and the reads behind it went through.
    expect(fake.requests.map((request) => request.status)).toEqual([429, 200, 200, 200]);
  });

  it('stops a read with RateLimitedError when Retry-After is longer than a pass waits, never as a credential problem', async () => {
    fake = await startFake();
    const id = seedTicket();
    const time = fakeTime(fake);
    await open(time);
    await (connector as Connector).getMany([id]);
    fake.failNextRequests(1, { retryAfter: 600 });
    const error = await (connector as Connector).getMany([id]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).not.toBeInstanceOf(ConnectorError);
    expect((error as RateLimitedError).resumeAt.getTime()).toBe(fake.clock.now().getTime() + 600_000);
    expect((error as Error).message).toContain("account's API rate limit");
    expect((error as Error).message).not.toMatch(/credential/i);
    expect(time.waits).toEqual([]);
  });

  it('fails the writes left in a batch as retryable, with when to come back, and keeps the ones already made', async () => {
    fake = await startFake();
    const [a, b, c] = [seedTicket('A'), seedTicket('B'), seedTicket('C')];
    await open(fakeTime(fake));
    await (connector as Connector).getMany([a]);
    const first = await (connector as Connector).write([{ kind: 'update', id: a, fields: { subject: 'A2' }, tag: 'syncline:f:1', expectedVersion: null }]);
    expect(first[0]).toMatchObject({ ok: true });
    fake.failNextRequests(1, { retryAfter: 120 });
    const results = await (connector as Connector).write([
      { kind: 'update', id: b, fields: { subject: 'B2' }, tag: 'syncline:f:2', expectedVersion: null },
      { kind: 'update', id: c, fields: { subject: 'C2' }, tag: 'syncline:f:3', expectedVersion: null },
    ]);
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: true, retryAfterMs: 120_000 });
      expect((result as { message: string }).message).not.toMatch(/credential/i);
    }
    // The second was not even tried: the limit covers the whole account.
    expect(fake.countRequests('PUT /api/v2/tickets/{ticket_id}')).toBe(1);
    expect(fake.ticket(Number(c)).subject).toBe('C');
  });
});

describe('the incremental export limit', () => {
  it('waits for the next minute when the ten exports of this one are used up', async () => {
    fake = await startFake();
    seedTicket();
    atSecond(50);
    const time = fakeTime(fake);
    await open(time);
    for (let i = 0; i < 10; i++) await (connector as Connector).listSince(start, 10);
    expect(time.waits).toEqual([]);
    const page = await (connector as Connector).listSince(start, 10);
    expect(page.records).toHaveLength(1);
    expect(time.waits).toEqual([10_000]);
    expect(fake.requests.filter((request) => request.route === 'GET /api/v2/incremental/tickets/cursor').map((request) => request.status).slice(-2)).toEqual([429, 200]);
  });

  it('stops the listing with RateLimitedError when the wait is longer than a pass waits, and lists again after it', async () => {
    fake = await startFake();
    seedTicket();
    atSecond(0);
    await open({ ...fakeTime(fake), maxWaitMs: 5_000 });
    for (let i = 0; i < 10; i++) await (connector as Connector).listSince(start, 10);
    const error = await (connector as Connector).listSince(start, 10).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resumeAt.getTime()).toBe(fake.clock.now().getTime() + 60_000);
    expect((error as Error).message).toContain('incremental export limit');
    expect((error as Error).message).toContain('Number of allowed incremental export API requests per minute exceeded');
    expect((error as Error).message).not.toMatch(/credential/i);

    // A minute later the next pass lists again.
    fake.clock.advance(61);
    await expect((connector as Connector).listSince(start, 10)).resolves.toMatchObject({ records: [expect.objectContaining({ deleted: false })] });
  });
});

describe("the deleted tickets list's own limit", () => {
  // Tickets that Show Many does not return are looked for in Deleted tickets (GET /api/v2/deleted_tickets), which
  // Zendesk allows 10 times a minute whatever the account's budget.
  /** A deleted ticket, read ten times at second 30 of a minute: the list's ten requests of that minute are used up. */
  async function openWithDeleted(options: Pick<ZendeskOptions, 'maxWaitMs'> = {}): Promise<{ id: string; waits: number[] }> {
    fake = await startFake();
    const id = seedTicket();
    fake.agentDeleteTicket(Number(id));
    atSecond(30);
    const time = fakeTime(fake);
    await open({ ...time, ...options });
    for (let i = 0; i < 10; i++) expect((await (connector as Connector).getMany([id])).get(id)?.deleted).toBe(true);
    expect(time.waits).toEqual([]);
    return { id, waits: time.waits };
  }

  it('waits for the next minute when the ten listings of this one are used up, and still finds the deleted ticket', async () => {
    const { id, waits } = await openWithDeleted();
    expect((await (connector as Connector).getMany([id])).get(id)).toMatchObject({ deleted: true, fields: { subject: 'Printer on fire' } });
    expect(waits).toEqual([30_000]);
    expect(fake.requests.filter((request) => request.route === 'GET /api/v2/deleted_tickets').map((request) => request.status).slice(-2)).toEqual([429, 200]);
  });

  it('stops with RateLimitedError naming that limit when the wait is longer than a pass waits', async () => {
    const { id } = await openWithDeleted({ maxWaitMs: 5_000 });
    const error = await (connector as Connector).getMany([id]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resumeAt.getTime()).toBe(fake.clock.now().getTime() + 30_000);
    expect((error as Error).message).toContain("the deleted tickets list's own limit (10 requests a minute");
    expect((error as Error).message).not.toMatch(/credential/i);
  });
});

describe('credentials', () => {
  it('says the credentials were refused, and which, on a 401', async () => {
    fake = await startFake();
    const id = seedTicket();
    connector = await openZendesk({ ...contextFor(fake, 'tickets'), resolveCredential: async () => 'not-the-token' });
    const error = await connector.getMany([id]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as Error).message).toContain('Zendesk refused the credentials (API token of admin@example.com from credential "zendesk-token")');
    const results = await connector.write([
      { kind: 'update', id, fields: { subject: 'x' }, tag: 'syncline:f:1', expectedVersion: null },
      { kind: 'update', id, fields: { subject: 'y' }, tag: 'syncline:f:2', expectedVersion: null },
    ]);
    for (const result of results) expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('refused the credentials') });
    // Refused at the first request: nothing more is tried.
    expect(fake.countRequests('PUT /api/v2/tickets/{ticket_id}')).toBe(0);
    expect(fake.requests.at(-1)?.status).toBe(401);
    expect(fake.requests.filter((request) => request.status === 401)).toHaveLength(2);
  });

  it('takes an OAuth access token as a bearer token', async () => {
    fake = await startFake({ oauthTokens: ['oauth-access'] });
    const id = seedTicket();
    const context = contextFor(fake, 'tickets', { auth: { credential: 'oauth', type: 'bearer' } });
    connector = await openZendesk({ ...context, resolveCredential: async (name) => (name === 'oauth' ? 'oauth-access' : Promise.reject(new Error('unknown'))) });
    expect((await connector.getMany([id])).get(id)?.fields.subject).toBe('Printer on fire');
  });
});
