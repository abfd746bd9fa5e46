import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import type { Connector, ListPosition, SourceRecord, Version } from '../types';
import { compareVersions } from '../versions';
import { hubspotLookbackMs } from './changes';
import { clockStart, contextFor, fakeTime, startFake } from './fakeAccount';
import { openHubSpot } from './index';

// Incremental listing against the fake's search index: its lag, its ties and its 10,000-result ceiling.

let fake: HubSpotFake;
let connector: Connector;
const searchRoute = 'POST /crm/v3/objects/{objectType}/search';

beforeEach(async () => {
  fake = await startFake({ searchLagMs: 0 });
  connector = await openHubSpot(contextFor(fake, 'contacts', { properties: ['email', 'firstname'] }), fakeTime(fake));
});
afterEach(async () => {
  await connector.close();
  await fake.close();
});

async function listAll(from: ListPosition, limit = 500): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  let position: ListPosition | null = from;
  while (position) {
    const page = await connector.listSince(position, limit);
    records.push(...page.records);
    position = page.next;
  }
  return records;
}

const newest = (records: readonly SourceRecord[]): Version | null => records.reduce<Version | null>((max, record) => (compareVersions(record.version, max) > 0 ? record.version : max), null);
const searchBodies = () => fake.requests.filter((entry) => entry.route === searchRoute).map((entry) => entry.body as { filterGroups: Array<{ filters: Array<{ propertyName: string; operator: string; value: string }> }>; after?: string; limit: number; sorts: unknown });

describe('listing from the start', () => {
  it('reads the objects list, which has no index lag: a contact made a moment ago is listed', async () => {
    fake.setSearchLag(60_000);
    const id = fake.personCreate('contacts', { email: 'now@example.com', firstname: 'Nova' });
    const records = await listAll({ since: null, afterId: null });
    expect(records).toEqual([{ id, version: '2024-06-03T12:00:00.000Z', tag: null, deleted: false, fields: { properties: { email: 'now@example.com', firstname: 'Nova' } } }]);
    expect(fake.countRequests(searchRoute)).toBe(0);
    expect(fake.countRequests('GET /crm/v3/objects/{objectType}')).toBe(2); // live, then archived
  });
});

describe('polling through the search index', () => {
  it('asks for lastmodifieddate GTE the cursor less the lookback, sorted ascending, 200 a page, each page from the last date read', async () => {
    for (let i = 0; i < 450; i++) fake.seed('contacts', { email: `c${i}@example.com` }, { updatedAt: clockStart + i });
    fake.clock.advance(60_000);
    const since = '2024-06-03T12:00:00.100Z';
    const records = await listAll({ since, afterId: null });
    // Everything from 5 minutes before the cursor: here, every contact, each once.
    expect(new Set(records.map((record) => record.id)).size).toBe(450);
    const bodies = searchBodies();
    // Never an offset: the second page starts at the first page's last date (its 200th contact, read again and left out).
    expect(bodies.map((body) => body.after ?? null)).toEqual([null, null, null]);
    expect(bodies.map((body) => body.filterGroups[0]?.filters[0]?.value)).toEqual([String(Date.parse(since) - hubspotLookbackMs), String(clockStart + 199), String(clockStart + 398)]);
    expect(bodies[0]).toMatchObject({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(Date.parse(since) - hubspotLookbackMs) }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      limit: 200,
    });
  });

  it('still lists a change the index showed late, and a tie at the cursor indexed after it, on the next poll', async () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => fake.seed('contacts', { email: `${name}@example.com` }));
    fake.clock.advance(60_000);
    const first = await listAll({ since: null, afterId: null });
    let cursor = newest(first);

    // A changes first but the index takes two minutes over it; B changes 10 ms later and shows at once.
    fake.setSearchLag(120_000);
    fake.personUpdate('contacts', a as string, { firstname: 'Late' });
    fake.clock.advance(10);
    fake.setSearchLag(0);
    fake.personUpdate('contacts', b as string, { firstname: 'Prompt' });
    // C and D change in the same millisecond; the index shows C now, D a minute on.
    fake.clock.advance(10);
    fake.personUpdate('contacts', c as string, { firstname: 'Tie shown' });
    fake.setSearchLag(60_000);
    fake.personUpdate('contacts', d as string, { firstname: 'Tie late' });
    fake.clock.advance(1000);

    // The index shows A and D as they were before (their seeded state, inside the look-back), B and C as they are:
    // every one is listed as it is now, read by id, never as the older state the index still holds.
    const second = await listAll({ since: cursor, afterId: null });
    const firstNames = new Map(second.map((record) => [record.id, (record.fields.properties as { firstname?: unknown }).firstname]));
    expect(firstNames).toEqual(new Map([[a, 'Late'], [b, 'Prompt'], [c, 'Tie shown'], [d, 'Tie late']]));
    cursor = newest(second);
    expect(cursor).toBe(fake.object('contacts', c as string)?.updatedAt);

    // The next poll, once the index has caught up: A is before the cursor and D at it; the lookback brings both.
    fake.clock.advance(120_000);
    const third = await listAll({ since: cursor, afterId: null });
    const byId = new Map(third.map((record) => [record.id, record]));
    expect(byId.get(a as string)?.fields).toEqual({ properties: { email: 'a@example.com', firstname: 'Late' } });
    expect(compareVersions(byId.get(a as string)?.version ?? null, cursor)).toBeLessThan(0);
    expect(byId.get(d as string)?.fields).toEqual({ properties: { email: 'd@example.com', firstname: 'Tie late' } });
    expect(byId.get(d as string)?.version).toBe(cursor);
  });

  it('never lists the older state the index still shows of a contact written since: that would undo the newer write', async () => {
    const id = fake.seed('contacts', { email: 'ada@example.com', firstname: 'Ada' });
    fake.clock.advance(1000);
    // A sync's write, then a person's edit; the index shows the first at once and takes a minute over the second.
    fake.personUpdate('contacts', id, { firstname: 'Adaline' });
    const written = fake.object('contacts', id)?.updatedAt;
    fake.clock.advance(1000);
    fake.setSearchLag(60_000);
    fake.personUpdate('contacts', id, { firstname: 'Ada Marie' });
    fake.clock.advance(1000);
    const records = await listAll({ since: written ?? null, afterId: null });
    expect(records).toEqual([expect.objectContaining({ id, version: fake.object('contacts', id)?.updatedAt, fields: { properties: { email: 'ada@example.com', firstname: 'Ada Marie' } } })]);
    // Search named the contact (its last-modified date only); batch/read gave its values.
    expect(searchBodies().map((body) => (body as unknown as { properties: string[] }).properties)).toEqual([['lastmodifieddate']]);
    expect(fake.countRequests('POST /crm/v3/objects/{objectType}/batch/read')).toBe(1);
  });

  it('lists an archived contact as deleted, at its archiving time', async () => {
    const id = fake.seed('contacts', { email: 'gone@example.com' });
    fake.clock.advance(60_000);
    const cursor = newest(await listAll({ since: null, afterId: null }));
    fake.personArchive('contacts', id);
    fake.clock.advance(1000);
    const records = await listAll({ since: cursor, afterId: null });
    expect(records).toEqual([expect.objectContaining({ id, deleted: true, version: '2024-06-03T12:01:00.000Z' })]);
  });
});

describe('edits while a listing goes on', () => {
  it('loses no contact when one already read is edited between two pages', async () => {
    for (let i = 0; i < 450; i++) fake.seed('contacts', { email: `c${i}@example.com` }, { updatedAt: clockStart + i * 10 });
    fake.clock.advance(60_000);
    // After the first search a person edits the first contact: it moves to the end of the results, and each contact
    // after it one place up. Paged by offset, the one at the first page's edge would be read by neither page.
    const first = fake.object('contacts', [...fake.portal.objects.contacts.keys()][0] as string);
    let edited = false;
    fake.afterEachSearch(() => {
      if (edited) return;
      edited = true;
      fake.personUpdate('contacts', first?.id as string, { firstname: 'Edited' });
    });
    const records = await listAll({ since: new Date(clockStart + hubspotLookbackMs).toISOString(), afterId: null }, 20_000);
    expect(edited).toBe(true);
    expect(new Set(records.map((record) => record.id))).toEqual(new Set(fake.portal.objects.contacts.keys()));
  });
});

describe('the 10,000-result ceiling', () => {
  it('is never met: each page is a query of its own, from the last modified date read, and nothing is lost', async () => {
    const total = 10_450;
    for (let i = 0; i < total; i++) fake.seed('contacts', { email: `bulk${i}@example.com` }, { updatedAt: clockStart + i * 10 });
    fake.clock.set(clockStart + total * 10 + 60_000);
    // One page: a longer listing reads its tail again (saas/changeFeed.ts), which would add queries of its own.
    const records = await listAll({ since: new Date(clockStart + hubspotLookbackMs).toISOString(), afterId: null }, 20_000);
    expect(new Set(records.map((record) => record.id)).size).toBe(total);
    const bodies = searchBodies();
    expect(bodies.every((body) => body.after === undefined)).toBe(true);
    // 199 new contacts a query (the 200th is read again as the next query's first): 53 queries, the windows rising.
    const windows = bodies.map((body) => Number(body.filterGroups[0]?.filters[0]?.value));
    expect(windows).toHaveLength(53);
    expect(windows.every((value, index) => index === 0 || value > (windows[index - 1] as number))).toBe(true);
    expect(fake.requests.filter((entry) => entry.status === 400)).toEqual([]);
  });

  it('reads an instant that holds more than 10,000 changes by id before moving past it', async () => {
    const instant = clockStart + 1000;
    const ids: string[] = [];
    for (let i = 0; i < 10_300; i++) ids.push(fake.seed('contacts', { email: `import${i}@example.com` }, { updatedAt: instant }));
    const after = fake.seed('contacts', { email: 'after@example.com' }, { updatedAt: instant + 5 });
    fake.clock.set(instant + 60_000);
    const records = await listAll({ since: new Date(instant + hubspotLookbackMs).toISOString(), afterId: null }, 20_000);
    expect(new Set(records.map((record) => record.id))).toEqual(new Set([...ids, after]));
    const kinds = searchBodies().map((body) => body.filterGroups[0]?.filters.map((filter) => `${filter.propertyName} ${filter.operator}`).join(' & '));
    // A page all of that instant, then the instant by id (52 pages of 200 and one short), then the window after it.
    expect(kinds.filter((kind, index) => kind !== kinds[index - 1])).toEqual(['lastmodifieddate GTE', 'lastmodifieddate EQ', 'lastmodifieddate EQ & hs_object_id GT', 'lastmodifieddate GTE']);
    expect(kinds.filter((kind) => kind === 'lastmodifieddate EQ & hs_object_id GT')).toHaveLength(51);
    expect(fake.requests.filter((entry) => entry.status === 400)).toEqual([]);
  });
});
