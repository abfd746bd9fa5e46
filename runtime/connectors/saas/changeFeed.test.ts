import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../seededRandom';
import type { ListPosition, SourceRecord } from '../types';
import { ChangeFeed, type ChangeFeedSource } from './changeFeed';

const record = (id: number, at: string, name = `r${id}`): SourceRecord => ({ id: String(id), version: at, tag: null, deleted: false, fields: { name } });

/** A system's feed as it really behaves: pages in any order, ties unordered, the same record twice. */
function messyFeed(records: SourceRecord[], options: { lookbackMs?: number; seed?: number } = {}): ChangeFeedSource & { asked: Array<Date | null> } {
  const random = seededRandom(options.seed ?? 7);
  const asked: Array<Date | null> = [];
  return {
    asked,
    lookbackMs: options.lookbackMs ?? 0,
    async *changedSince(since) {
      asked.push(since);
      const matching = records.filter((candidate) => since === null || Date.parse(candidate.version as string) >= since.getTime());
      const shuffled = [...matching, ...matching.filter(() => random() < 0.3)].sort(() => random() - 0.5);
      for (let start = 0; start < shuffled.length; start += 3) yield shuffled.slice(start, start + 3);
    },
  };
}

async function listAll(feed: ChangeFeed, from: ListPosition, limit: number): Promise<SourceRecord[]> {
  const listed: SourceRecord[] = [];
  for (let position: ListPosition | null = from; position; ) {
    const page = await feed.listSince(position, limit);
    listed.push(...page.records);
    position = page.next;
  }
  return listed;
}

describe('ChangeFeed', () => {
  const tied = Array.from({ length: 12 }, (_, i) => record(i + 1, `2024-05-01T10:00:0${i < 8 ? 0 : 1}Z`));

  it('lists an unordered, repeating feed once each, by version then numeric id, in pages of any size', async () => {
    for (const limit of [1, 5, 100]) {
      const listed = await listAll(new ChangeFeed(messyFeed(tied, { seed: limit })), { since: null, afterId: null }, limit);
      expect(listed.map((entry) => entry.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
    }
  });

  it('keeps the latest version of a record the feed lists twice', async () => {
    const source = messyFeed([record(1, '2024-05-01T10:00:00Z', 'old'), record(1, '2024-05-01T10:00:05Z', 'new'), record(2, '2024-05-01T10:00:01Z')]);
    const listed = await listAll(new ChangeFeed(source), { since: null, afterId: null }, 10);
    expect(listed.map((entry) => [entry.id, entry.fields.name])).toEqual([['2', 'r2'], ['1', 'new']]);
  });

  it('reads the window once per listing, from the lookback before the cursor, and its tail once more', async () => {
    const source = messyFeed(tied, { lookbackMs: 120_000 });
    const feed = new ChangeFeed(source);
    await listAll(feed, { since: '2024-05-01T10:00:01Z', afterId: null }, 2);
    expect(source.asked).toEqual([new Date('2024-05-01T09:58:01Z'), new Date('2024-05-01T09:58:01Z')]);
    source.asked.length = 0;
    await listAll(feed, { since: '2024-05-01T10:00:01Z', afterId: null }, 100);
    expect(source.asked).toHaveLength(1);
  });

  it('includes records from the lookback window that an earlier listing could not see', async () => {
    // A record updated before the cursor but indexed late (search lag) is found by the next listing.
    const late = record(99, '2024-05-01T09:59:30Z', 'indexed late');
    const listed = await listAll(new ChangeFeed(messyFeed([...tied, late], { lookbackMs: 120_000 })), { since: '2024-05-01T10:00:01Z', afterId: null }, 4);
    expect(listed.map((entry) => entry.id)).toContain('99');
  });

  it('a new listing reads the system again and sees what changed since the last one', async () => {
    const records = [record(1, '2024-05-01T10:00:00Z')];
    const feed = new ChangeFeed(messyFeed(records));
    expect(await listAll(feed, { since: null, afterId: null }, 10)).toHaveLength(1);
    records.push(record(2, '2024-05-01T10:00:09Z'));
    expect((await listAll(feed, { since: '2024-05-01T10:00:00Z', afterId: null }, 10)).map((entry) => entry.id)).toEqual(['1', '2']);
  });
});

describe('ChangeFeed, a listing of many pages', () => {
  it('reads its tail again at the end, so a change made while paging is listed in the same listing, once', async () => {
    const records = Array.from({ length: 6 }, (_, i) => record(i + 1, `2024-05-01T10:00:0${i}Z`));
    const source = messyFeed(records);
    const feed = new ChangeFeed(source);
    const first = await feed.listSince({ since: null, afterId: null }, 3);
    // Record 1, already listed, and a new record 7 change while the engine works through the first page.
    records[0] = record(1, '2024-05-01T10:00:08Z', 'changed meanwhile');
    records.push(record(7, '2024-05-01T10:00:09Z'));
    const rest = await listAll(feed, first.next as ListPosition, 3);
    expect(rest.map((entry) => [entry.id, entry.fields.name])).toEqual([['4', 'r4'], ['5', 'r5'], ['6', 'r6'], ['1', 'changed meanwhile'], ['7', 'r7']]);
    expect(source.asked).toHaveLength(2);
  });
});
