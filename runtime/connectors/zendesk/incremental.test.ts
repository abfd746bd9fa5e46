import { afterEach, describe, expect, it } from 'vitest';
import type { ZendeskFake } from '../../../test/fakes/zendesk/server';
import { guardedFetch } from '../network';
import type { Connector, ListPage, ListPosition, SourceRecord } from '../types';
import { access, contextFor, fakeTime, startFake } from './fakeAccount';
import { openZendesk, type ZendeskOptions } from './index';

// The cursor-based incremental export as Zendesk serves it (test/fakes/zendesk/incremental.ts): after_cursor pages,
// end_of_stream with the same cursor repeating after it, duplicates, deletions, the excluded last minute.

const exportRoute = 'GET /api/v2/incremental/tickets/cursor';
const start: ListPosition = { since: null, afterId: null };
let fake: ZendeskFake;
let connector: Connector | undefined;

afterEach(async () => {
  await connector?.close();
  connector = undefined;
  await fake.close();
});

async function open(options: ZendeskOptions = {}, collection = 'tickets', extra: Record<string, unknown> = {}): Promise<Connector> {
  connector = await openZendesk(contextFor(fake, collection, extra), { ...fakeTime(fake), ...options });
  return connector;
}

function seedTickets(count: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    fake.clock.advance(1);
    ids.push(Number(fake.seedTicket({ subject: `Ticket ${i}`, description: 'From the web form' }).id));
  }
  return ids;
}

async function listAll(from: ListPosition, limit: number): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  let position: ListPosition | null = from;
  while (position) {
    const page: ListPage = await (connector as Connector).listSince(position, limit);
    records.push(...page.records);
    position = page.next;
  }
  return records;
}

async function call(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${fake.url}${path}`, { headers: { authorization: fake.auth.apiToken, accept: 'application/json' } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the ticket export', () => {
  it('follows after_cursor page by page and stops where end_of_stream says, though the cursor would go on', async () => {
    fake = await startFake();
    const ids = seedTickets(10);
    fake.clock.advance(61);
    await open({ exportPageSize: 3 });

    const records = await listAll(start, 100);
    expect(records.map((record) => Number(record.id))).toEqual(ids);
    // 3 + 3 + 3 + 1: the fourth answer says end_of_stream, and nothing is asked after it.
    expect(fake.countRequests(exportRoute)).toBe(4);
    const pages = fake.requests.filter((request) => request.route === exportRoute).map((request) => new URL(request.path, fake.url).searchParams);
    expect(pages[0]?.get('start_time')).not.toBeNull();
    for (const page of pages.slice(1)) expect(page.get('cursor')).not.toBeNull();

    // What following the cursor past end_of_stream would have met: no records, the same cursor, for ever.
    const last = await call(`/api/v2/incremental/tickets/cursor.json?cursor=${encodeURIComponent(pages[3]?.get('cursor') ?? '')}&per_page=3`);
    expect(last.body).toMatchObject({ end_of_stream: true });
    const again = await call(`/api/v2/incremental/tickets/cursor.json?cursor=${encodeURIComponent(String(last.body.after_cursor))}&per_page=3`);
    expect(again.body).toMatchObject({ tickets: [], after_cursor: last.body.after_cursor, end_of_stream: true });
  });

  it('lists a ticket the export repeats once, with its latest version', async () => {
    fake = await startFake();
    const ids = seedTickets(7);
    fake.clock.advance(61);
    const inner = guardedFetch(access.hosts);
    let exported = 0;
    let edited = false;
    // An agent edits the first ticket while the export is being paged through: it comes again on a later page.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await inner(input, init);
      if (String(input).includes('/incremental/tickets/cursor')) {
        exported += ((await response.clone().json()) as { tickets: unknown[] }).tickets.length;
        if (!edited) {
          edited = true;
          fake.agentUpdateTicket(ids[0] as number, { subject: 'Edited while exporting' });
          fake.clock.advance(61);
        }
      }
      return response;
    };
    await open({ exportPageSize: 2, fetch });

    const records = await listAll(start, 100);
    expect(exported).toBe(8);
    expect(records).toHaveLength(7);
    expect(new Set(records.map((record) => record.id)).size).toBe(7);
    const first = records.find((record) => record.id === String(ids[0]));
    expect(first?.fields.subject).toBe('Edited while exporting');
    // Listed in version order: the edited ticket is now the newest.
    expect(records.at(-1)?.id).toBe(String(ids[0]));
  });

  it('lists soft-deleted tickets as deletes, and reads them as deleted by id', async () => {
    fake = await startFake();
    const [kept, gone] = seedTickets(2) as [number, number];
    fake.clock.advance(5);
    fake.agentDeleteTicket(gone);
    const deletedAt = fake.clock.now().toISOString().replace('.000Z', 'Z');
    fake.clock.advance(61);
    await open();

    const records = await listAll(start, 100);
    expect(records.find((record) => record.id === String(kept))?.deleted).toBe(false);
    expect(records.find((record) => record.id === String(gone))).toMatchObject({ deleted: true, version: deletedAt });
    // Show Ticket answers 404 for it; Deleted tickets still knows it.
    expect((await call(`/api/v2/tickets/${gone}.json`)).status).toBe(404);
    const read = await (connector as Connector).getMany([String(kept), String(gone), '999999']);
    expect(read.get(String(gone))).toMatchObject({ deleted: true, version: deletedAt, fields: { subject: 'Ticket 1' } });
    expect(read.get(String(kept))?.deleted).toBe(false);
    expect(read.has('999999')).toBe(false);
  });

  it('clamps start_time to more than a minute ago, where Zendesk would refuse it', async () => {
    fake = await startFake();
    seedTickets(1);
    await open();
    const nowSeconds = Math.floor(fake.clock.now().getTime() / 1000);
    // Zendesk refuses a start_time within the last minute.
    expect((await call(`/api/v2/incremental/tickets/cursor.json?start_time=${nowSeconds - 30}`)).status).toBe(422);

    // A position ahead of the clock, as a clock running ahead would make one: the start still goes back far enough.
    const ahead = new Date((nowSeconds + 600) * 1000).toISOString();
    await expect(listAll({ since: ahead, afterId: null }, 10)).resolves.toEqual([]);
    const asked = fake.requests.filter((request) => request.route === exportRoute).at(-1);
    expect(asked?.status).toBe(200);
    const startTime = Number(new URL(asked?.path ?? '', fake.url).searchParams.get('start_time'));
    expect(startTime).toBeLessThanOrEqual(nowSeconds - 60);
    expect(startTime).toBeGreaterThan(nowSeconds - 120);
  });

  it('reads from two minutes before the cursor: the export lags, and a poll from the last version sees what came after', async () => {
    fake = await startFake();
    seedTickets(3);
    fake.clock.advance(61);
    await open();
    const first = await listAll(start, 100);
    const cursor = first.at(-1)?.version ?? null;
    const asked = () => fake.requests.filter((request) => request.route === exportRoute).at(-1)?.path ?? '';

    fake.clock.advance(30);
    const later = Number(fake.seedTicket({ subject: 'Later', description: 'x' }).id);
    // Within the export's excluded minute: not listed yet, and not lost either.
    const soon = await listAll({ since: cursor, afterId: null }, 100);
    expect(soon.map((record) => Number(record.id))).not.toContain(later);
    expect(Number(new URL(asked(), fake.url).searchParams.get('start_time'))).toBe(Date.parse(String(cursor)) / 1000 - 120);
    fake.clock.advance(61);
    const polled = await listAll({ since: cursor, afterId: null }, 100);
    expect(polled.map((record) => Number(record.id))).toContain(later);
  });
});

describe('the user export', () => {
  it('follows the users cursor export to its end and lists only the roles asked for', async () => {
    fake = await startFake();
    const customers: number[] = [];
    for (let i = 0; i < 5; i++) {
      fake.clock.advance(1);
      customers.push(Number(fake.seedUser({ name: `Customer ${i}`, email: `customer${i}@example.com` }).id));
    }
    fake.clock.advance(61);
    await open({ exportPageSize: 2 }, 'users', { userRoles: ['end-user'] });

    const records = await listAll(start, 100);
    expect(records.map((record) => Number(record.id))).toEqual(customers);
    expect(records[0]?.fields).toMatchObject({ name: 'Customer 0', email: 'customer0@example.com', role: 'end-user' });
    // Seven users (the admin and the agent are not listed), two a page: four answers, the last one ending the stream.
    expect(fake.countRequests('GET /api/v2/incremental/users/cursor')).toBe(4);
    expect((await (connector as Connector).getMany([String(fake.agent.id), String(customers[0])])).size).toBe(1);
  });
});
