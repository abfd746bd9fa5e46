import { afterEach, describe, expect, it } from 'vitest';
import type { GitHubFake } from '../../../test/fakes/github/server';
import { compareVersions } from '../versions';
import type { Connector, ListPosition, SourceRecord } from '../types';
import { issuesLookbackMs } from './changes';
import { openIssues, startFakeRepository } from './test-support';

// GitHub lists issues changed since a time with no order among those updated in the same second, and the fake draws
// a new order for every request (quirk `tieOrder: 'per-request'`), so a later page may repeat or skip a tied issue.
// Whatever it draws, a listing must hold every issue of the repository exactly once, at its current updated_at.

const listRoute = 'GET /repos/{owner}/{repo}/issues';
const t0 = Date.parse('2024-05-01T10:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000);

let fake: GitHubFake | undefined;
let connector: Connector | undefined;
afterEach(async () => {
  await connector?.close();
  await fake?.close();
  fake = undefined;
  connector = undefined;
});

async function open(quirks: Parameters<GitHubFake['quirks']['set']>[0] = {}): Promise<{ fake: GitHubFake; connector: Connector }> {
  const repository = await startFakeRepository({ quirks, seed: 42 });
  fake = repository.fake;
  connector = await openIssues(fake);
  return { fake, connector };
}

function seedAt(target: GitHubFake, count: number, seconds: (index: number) => number, prefix: string): void {
  for (let i = 0; i < count; i++) target.seed.issue({ title: `${prefix} ${i}`, createdAt: at(seconds(i)), updatedAt: at(seconds(i)) });
}

async function listAll(target: Connector, from: ListPosition, limit: number): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  let position: ListPosition | null = from;
  for (let pages = 0; position; pages++) {
    if (pages > 10_000) throw new Error('the listing did not end');
    const page = await target.listSince(position, limit);
    records.push(...page.records);
    position = page.next;
  }
  return records;
}

/** The fake's issues (pull requests are not issues) as number → updated_at. */
function issuesOf(target: GitHubFake, since: string | null = null): Map<string, string> {
  const issues = new Map<string, string>();
  for (const issue of target.issues.all()) {
    if (issue.pull_request !== undefined) continue;
    const updatedAt = String(issue.updated_at);
    if (since === null || updatedAt >= since) issues.set(String(issue.number), updatedAt);
  }
  return issues;
}

function expectExactly(records: SourceRecord[], expected: Map<string, string>): void {
  const ids = records.map((record) => record.id);
  expect(new Set(ids).size, 'an issue was listed twice').toBe(ids.length);
  expect([...ids].sort()).toEqual([...expected.keys()].sort());
  for (const record of records) expect(record.version, `issue ${record.id}`).toBe(expected.get(record.id));
  for (let i = 1; i < records.length; i++) {
    const [previous, record] = [records[i - 1] as SourceRecord, records[i] as SourceRecord];
    expect(compareVersions(previous.version, record.version) || Number(previous.id) - Number(record.id)).toBeLessThan(0);
  }
}

describe('listing issues whose updated_at ties, in pages GitHub orders anew on each request', () => {
  it('lists every issue once when ties of more than a page and ties across page boundaries meet', async () => {
    const { fake, connector } = await open();
    seedAt(fake, 30, (i) => i, 'early');
    // 150 issues and 5 pull requests in one second fill more than a page of 100; the 40 of the next second straddle
    // the boundary that follows.
    seedAt(fake, 150, () => 100, 'bulk');
    for (let i = 0; i < 5; i++) fake.seed.pullRequest({ title: `pull ${i}`, createdAt: at(100), updatedAt: at(100) });
    seedAt(fake, 40, () => 101, 'next');
    seedAt(fake, 60, (i) => 110 + i, 'late');
    const expected = issuesOf(fake);
    expect(expected.size).toBe(280);
    for (const limit of [500, 100, 7]) expectExactly(await listAll(connector, { since: null, afterId: null }, limit), expected);
  });

  it('lists a tie that straddles a page boundary whole, from the start and from a cursor inside it', async () => {
    const { fake, connector } = await open();
    seedAt(fake, 90, (i) => i, 'before');
    seedAt(fake, 25, () => 200, 'tied');
    seedAt(fake, 10, (i) => 300 + i, 'after');
    expectExactly(await listAll(connector, { since: null, afterId: null }, 1000), issuesOf(fake));
    const since = at(200).toISOString().replace('.000Z', 'Z');
    const fromCursor = await listAll(connector, { since, afterId: null }, 10);
    expectExactly(fromCursor, issuesOf(fake, since));
  });

  it('starts a poll a little before its cursor, so nothing at the cursor is missed, and no further back than it declares', async () => {
    const { fake, connector } = await open();
    seedAt(fake, 20, (i) => i * 3, 'spaced');
    const cursor = at(30).toISOString().replace('.000Z', 'Z');
    const records = await listAll(connector, { since: cursor, afterId: null }, 100);
    const earliest = new Date(Date.parse(cursor) - issuesLookbackMs).toISOString().replace('.000Z', 'Z');
    expectExactly(records, issuesOf(fake, earliest));
    expect(records.some((record) => String(record.version) < cursor)).toBe(true);
  });

  it('loses nothing when since turns out exclusive (the docs say "after")', async () => {
    const { fake, connector } = await open({ sinceInclusive: false });
    seedAt(fake, 10, (i) => i, 'early');
    seedAt(fake, 130, () => 50, 'bulk');
    seedAt(fake, 30, () => 51, 'next');
    seedAt(fake, 10, (i) => 60 + i, 'late');
    expectExactly(await listAll(connector, { since: null, afterId: null }, 50), issuesOf(fake));
    const since = at(50).toISOString().replace('.000Z', 'Z');
    expectExactly(await listAll(connector, { since, afterId: null }, 50), issuesOf(fake, since));
  });

  it('reads each part of the repository once when nothing ties: one request a hundred issues', async () => {
    const { fake, connector } = await open();
    seedAt(fake, 250, (i) => i, 'distinct');
    fake.requests.reset();
    expectExactly(await listAll(connector, { since: null, afterId: null }, 1000), issuesOf(fake));
    // Each query starts at the last complete second, so a page gives 99 new issues: 3 pages, and none read twice.
    expect(fake.requests.count(listRoute)).toBe(3);
  });
});

describe('a large repository, whose pages GitHub links by cursor', () => {
  it('reads a tie longer than page numbers reach whole, by the cursor, never asking for a page GitHub refuses', async () => {
    // GitHub refuses page=100 of 100 in such a listing; the fake's window is 300 here, so page=3 would be refused and
    // the tie of 450 issues needs five pages.
    const { fake, connector } = await open({ pagination: 'cursor', pageWindow: 300 });
    seedAt(fake, 30, (i) => i, 'early');
    seedAt(fake, 450, () => 100, 'bulk');
    seedAt(fake, 40, () => 101, 'next');
    seedAt(fake, 20, (i) => 110 + i, 'late');
    fake.requests.reset();
    expectExactly(await listAll(connector, { since: null, afterId: null }, 1000), issuesOf(fake));
    expect(fake.requests.log.filter((entry) => entry.status !== 200)).toEqual([]);
    // Pages 2 to 5 of the query that holds the tie.
    expect(fake.requests.log.filter((entry) => entry.path.includes('after='))).toHaveLength(4);
  });
});

describe('a listing resumed from the position it handed out', () => {
  it('is served from its first read in the middle of a listing, without a request', async () => {
    const { fake, connector } = await open();
    seedAt(fake, 12, (i) => i, 'issue');
    const first = await connector.listSince({ since: null, afterId: null }, 5);
    fake.requests.reset();
    const second = await connector.listSince(first.next as ListPosition, 5);
    expect(second.records.map((record) => record.id)).toEqual(['6', '7', '8', '9', '10']);
    expect(fake.requests.count(listRoute)).toBe(0);
  });

  it('lists again what changed in between, at its new version, and nothing it already listed unchanged', async () => {
    const repository = await startFakeRepository();
    fake = repository.fake;
    connector = await openIssues(fake);
    for (let i = 0; i < 8; i++) repository.outOfBand(() => repository.fake.seed.issue({ title: `issue ${i}` }));
    const first = await connector.listSince({ since: null, afterId: null }, 4);
    repository.outOfBand(() => repository.fake.human.editIssue(2, { title: 'edited between pages', labels: ['bug'] }));
    const rest = await listAll(connector, first.next as ListPosition, 4);
    expect(rest.map((record) => record.id)).toEqual(['5', '6', '7', '8', '2']);
    expect(rest.at(-1)?.fields).toMatchObject({ title: 'edited between pages', labels: ['bug'] });
    expect(rest.at(-1)?.version).toBe(repository.fake.issues.get(2)?.updated_at);
  });
});
