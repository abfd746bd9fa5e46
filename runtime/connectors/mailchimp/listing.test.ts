import { afterEach, describe, expect, it } from 'vitest';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import type { Connector, ListPage, ListPosition, SourceRecord } from '../types';
import { openMailchimp } from './index';
import { contextFor, fakeTime, recordingFetch, startFake, type SentRequest } from './test-support';

let fake: MailchimpFake;
let connector: Connector | undefined;
afterEach(async () => {
  await connector?.close();
  await fake.close();
  connector = undefined;
});

const second = (n: number) => new Date(Date.parse('2024-06-03T12:00:00Z') + n * 1000);

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

const memberQueries = (sent: SentRequest[]) => sent.filter((entry) => /\/members\?/.test(entry.path)).map((entry) => new URL(entry.path, 'http://x').searchParams);

describe('since_last_changed, which may be exclusive', () => {
  it('lists the members that share the cursor’s second, asking from a second before it', async () => {
    fake = await startFake();
    fake.seedMember({ email_address: 'before@example.com', lastChanged: second(5) });
    const at = ['a@example.com', 'b@example.com', 'c@example.com'].map((email) => fake.seedMember({ email_address: email, lastChanged: second(10) }).id);
    const after = fake.seedMember({ email_address: 'after@example.com', lastChanged: second(11) }).id;
    fake.clock.set(second(60));
    const { fetch, sent } = recordingFetch();
    connector = await openMailchimp(contextFor(fake), { ...fakeTime(fake), fetch });

    // The engine saw one member at 12:00:10 and resumes from there: the others at that second must come again.
    const records = await listAll({ since: '2024-06-03T12:00:10Z', afterId: null }, 100);
    expect(records.map((record) => record.id).sort()).toEqual([...at, after].sort());
    const [query] = memberQueries(sent);
    expect(query?.get('since_last_changed')).toBe('2024-06-03T12:00:09+00:00');
    expect(query?.get('sort_field')).toBe('last_changed');
    // The window ends a second before the server's time (Date header), so nothing changing while it is read slips in.
    expect(query?.get('before_last_changed')).toBe('2024-06-03T12:00:59+00:00');
    // Without the second of lookback, Mailchimp's "changed after" would have left them out.
    const exclusive = await fetch(`${fake.url}/3.0/lists/${fake.list.id}/members?since_last_changed=2024-06-03T12:00:10%2B00:00`, { headers: { authorization: `Bearer ${fake.oauthToken}` } });
    expect(((await exclusive.json()) as { members: Array<{ id: string }> }).members.map((member) => member.id)).toEqual([after]);
  });

  it('a member changed in the last second before a listing is listed by the next one', async () => {
    fake = await startFake();
    fake.seedMember({ email_address: 'old@example.com', lastChanged: second(1) });
    fake.clock.set(second(30));
    const late = fake.seedMember({ email_address: 'late@example.com' }).id;
    connector = await openMailchimp(contextFor(fake), fakeTime(fake));
    const first = await listAll({ since: null, afterId: null }, 100);
    expect(first.map((record) => record.id)).not.toContain(late);
    const cursor = first.at(-1)?.version ?? null;
    fake.clock.advance(2);
    expect((await listAll({ since: cursor, afterId: null }, 100)).map((record) => record.id)).toContain(late);
  });
});

describe('offset paging while members change', () => {
  it('steps back when members leave the window between two pages, so the one at the page boundary is not skipped', async () => {
    fake = await startFake();
    const ids = Array.from({ length: 25 }, (_, i) => fake.seedMember({ email_address: `m${String(i).padStart(2, '0')}@example.com`, lastChanged: second(i + 1) }).id);
    fake.clock.set(second(100));
    const { fetch: inner, sent } = recordingFetch();
    let pagesServed = 0;
    // A person edits two members of the first page right after it was read: they move past the window's end.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await inner(input, init);
      if (String(input).includes('/members?') && ++pagesServed === 1) {
        fake.clock.advance(5);
        fake.person.edit(ids[2] as string, { merge_fields: { FNAME: 'Edited' } });
        fake.person.edit(ids[7] as string, { merge_fields: { FNAME: 'Edited' } });
      }
      return response;
    };
    connector = await openMailchimp(contextFor(fake), { ...fakeTime(fake), fetch, pageSize: 10 });
    const records = await listAll({ since: null, afterId: null }, 1000);
    const listed = records.map((record) => record.id);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...ids].sort());
    // Offsets asked for: 0, then 10 (two members had left: the page slid by two), so back to 8, then 18.
    expect(memberQueries(sent).filter((query) => query.get('status') === null).map((query) => Number(query.get('offset')))).toEqual([0, 10, 8, 18]);
    // The edited members come with the next listing, at their new version.
    fake.clock.advance(2);
    const next = await listAll({ since: records.at(-1)?.version ?? null, afterId: null }, 1000);
    expect(next.filter((record) => record.id === ids[2] || record.id === ids[7]).map((record) => (record.fields.merge_fields as Record<string, unknown>).FNAME)).toEqual(['Edited', 'Edited']);
  });

  it('reads archived members too, as deleted records with status archived', async () => {
    fake = await startFake();
    const kept = fake.seedMember({ email_address: 'kept@example.com', lastChanged: second(1) }).id;
    const archived = fake.seedMember({ email_address: 'archived@example.com', lastChanged: second(2) }).id;
    fake.clock.set(second(10));
    fake.person.archive(archived);
    fake.clock.advance(5);
    const { fetch, sent } = recordingFetch();
    connector = await openMailchimp(contextFor(fake), { ...fakeTime(fake), fetch });
    const records = await listAll({ since: null, afterId: null }, 100);
    expect(records.map((record) => [record.id, record.deleted, record.fields.status])).toEqual([
      [kept, false, 'subscribed'],
      [archived, true, 'archived'],
    ]);
    expect(memberQueries(sent).map((query) => query.get('status'))).toEqual([null, 'archived']);
    expect(records[1]?.version).toBe('2024-06-03T12:00:10Z');
  });

  it('reads every tag of a member with more than the 50 a member lists', async () => {
    fake = await startFake();
    const member = fake.seedMember({ email_address: 'many@example.com', lastChanged: second(1) });
    fake.person.tag(member.id, Array.from({ length: 60 }, (_, i) => ({ name: `tag-${String(i).padStart(2, '0')}`, status: 'active' as const })));
    fake.clock.advance(5);
    connector = await openMailchimp(contextFor(fake), fakeTime(fake));
    const [record] = await listAll({ since: null, afterId: null }, 100);
    expect(record?.fields.tags).toHaveLength(60);
    expect(fake.countRequests('GET /lists/{list_id}/members/{subscriber_hash}/tags')).toBe(1);
  });
});
