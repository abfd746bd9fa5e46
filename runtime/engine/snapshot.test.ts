import { describe, expect, it } from 'vitest';
import { contents, memoryHarness, type HubOptions } from '../../test/engine/memory-flows';
import { changeStoredLinks, storedLinks } from '../../test/support/links';
import type { MemoryCall, MemoryCollectionOptions } from '../connectors/memory/index';
import { RateLimitedError, type Connector, type ConnectorCapabilities } from '../connectors/types';
import { hardDeletesFrom, listsWhole, stageSnapshot } from './snapshot';
import { ChangeStaging } from './staging';

/** `a` has a change feed; `b` has none (every pass lists it whole), unless `b` says otherwise. */
async function snapshotPair(b: MemoryCollectionOptions = {}, options: Partial<HubOptions> = {}) {
  const h = await memoryHarness({ sides: ['a', 'b'], ...options, collections: { b: { changeFeed: false, ...b }, ...options.collections } });
  const people = Array.from({ length: 6 }, (_, i) => h.sides.b!.insert({ email: `p${i}@example.com`, name: `P${i}` }));
  const first = await h.pass();
  expect(first.summary).toMatchObject({ created: 6, failed: 0 });
  await h.pass(); // the echoes of the creates on a
  return { ...h, people };
}

/** Every row of the state a pass may write, to tell that a pass wrote none. */
async function stateRows(h: Awaited<ReturnType<typeof snapshotPair>>) {
  return {
    links: await storedLinks(h.db),
    entities: await h.db.selectFrom('entities').selectAll().orderBy('id').execute(),
    journal: await h.db.selectFrom('write_ahead').selectAll().orderBy('page').execute(),
    failing: await h.db.selectFrom('failing_records').selectAll().execute(),
  };
}

/** The store's calls of one kind on one collection, from now on. */
function spy(h: Awaited<ReturnType<typeof snapshotPair>>, wanted: (call: MemoryCall) => boolean): { calls: MemoryCall[]; stop: () => void } {
  const calls: MemoryCall[] = [];
  const stop = h.store.failWhen((call) => {
    if (wanted(call)) calls.push(call);
    return null;
  });
  return { calls, stop };
}

describe('which sides are listed whole, and where their deletes are found', () => {
  const capabilities = (more: Partial<ConnectorCapabilities>): ConnectorCapabilities => ({ conditionalWrites: true, tags: true, incremental: true, fullScan: true, ...more });

  it('lists whole a side without a change feed or without an incremental listing', () => {
    expect(listsWhole(capabilities({}))).toBe(false);
    expect(listsWhole(capabilities({ changeFeed: true }))).toBe(false);
    expect(listsWhole(capabilities({ changeFeed: false, incremental: false }))).toBe(true);
    expect(listsWhole(capabilities({ incremental: false }))).toBe(true);
  });

  it('finds the deletes of a side without a change feed in its listing, scan or no scan, soft deletes or not', () => {
    expect(hardDeletesFrom(capabilities({ changeFeed: false, incremental: false, fullScan: false }), {})).toBe('listing');
    expect(hardDeletesFrom(capabilities({ changeFeed: false, incremental: false }), { deletedFlag: 'deleted' })).toBe('listing');
    // A side listed whole that could be scanned needs no scan; one that may not be scanned is not made to.
    expect(hardDeletesFrom(capabilities({ incremental: false }), {})).toBe('listing');
    expect(hardDeletesFrom(capabilities({ incremental: false, fullScan: false }), {})).toBe('none');
    expect(hardDeletesFrom(capabilities({}), {})).toBe('scan');
    expect(hardDeletesFrom(capabilities({}), { deletedFlag: 'deleted' })).toBe('none');
  });
});

describe('a pass over a side without a change feed', () => {
  it.each([
    ['without versions', { versions: 'none' } as MemoryCollectionOptions],
    ['with versions', {} as MemoryCollectionOptions],
  ])('merges, reads and writes nothing when nothing changed (records %s)', async (_name, options) => {
    const h = await snapshotPair(options);
    const before = await stateRows(h);
    const reads = spy(h, (call) => call.method === 'getMany' || call.method === 'write' || call.method === 'scanIds');
    const quiet = await h.pass();
    reads.stop();
    expect(quiet.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    expect(reads.calls).toEqual([]);
    expect(await stateRows(h)).toEqual(before);
    const run = await h.engine.getRun(quiet.runId as string);
    expect(run?.log).toEqual([]);
  });

  it.each([
    ['without versions', { versions: 'none' } as MemoryCollectionOptions],
    ['whose version did not move', {} as MemoryCollectionOptions],
  ])('sees an edit to a record %s, and only that record is merged and written', async (_name, options) => {
    const h = await snapshotPair(options);
    // The newest record: a poll by version would take it for one already seen at the cursor.
    const target = h.people[5] as string;
    const version = h.sides.b!.get(target)?.version ?? undefined;
    h.sides.b!.update(target, { name: 'Renamed on b' }, version === undefined || version === null ? {} : { version });
    if (version !== null && version !== undefined) expect(h.sides.b!.get(target)?.version).toBe(version);
    const writes = spy(h, (call) => call.method === 'writeOp');
    const result = await h.pass();
    writes.stop();
    expect(result.summary).toMatchObject({ updated: 1, created: 0, deleted: 0, failed: 0 });
    expect(writes.calls).toHaveLength(1);
    expect(writes.calls[0]).toMatchObject({ collection: 'a', op: { kind: 'update', fields: { name: 'Renamed on b' } } });
    expect(contents(h.sides.a!)).toEqual(contents(h.sides.b!));
  });

  it.each([
    ['without tags or versions', { tags: false, versions: 'none' } as MemoryCollectionOptions],
    ['without tags', { tags: false } as MemoryCollectionOptions],
    ['with tags', {} as MemoryCollectionOptions],
  ])('counts the echo of its own write once, and is quiet after (records %s)', async (_name, options) => {
    const h = await snapshotPair(options);
    const aId = h.sides.a!.all().find((record) => record.fields.email === 'p1@example.com')?.id as string;
    h.sides.a!.update(aId, { name: 'Renamed on a' });
    expect((await h.pass()).summary).toMatchObject({ updated: 1 });
    const echo = await h.pass();
    expect(echo.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 1, conflicts: 0, failed: 0 });
    expect((await h.pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
  });

  it('finds a hard delete in its listing, without a scan, and propagates it', async () => {
    const h = await snapshotPair();
    h.sides.b!.delete(h.people[4] as string);
    const scans = h.store.calls.scanIds;
    const result = await h.pass();
    expect(result.summary).toMatchObject({ deleted: 1, failed: 0 });
    expect(h.store.calls.scanIds).toBe(scans);
    expect(contents(h.sides.a!).map((record) => record.email)).not.toContain('p4@example.com');
    expect(contents(h.sides.a!)).toEqual(contents(h.sides.b!));
  });

  it('reads a record the listing passed by before taking it for deleted, and sees its edit', async () => {
    const h = await snapshotPair();
    const target = h.people[3] as string;
    h.sides.b!.update(target, { name: 'Edited and skipped' });
    // The listing leaves the record out, as a listing paged by position does when a record before it goes.
    const original = h.sides.b!.pageFrom.bind(h.sides.b!);
    h.sides.b!.pageFrom = (position, limit) => {
      const page = original(position, limit);
      return { ...page, records: page.records.filter((record) => record.id !== target) };
    };
    const reads = spy(h, (call) => call.method === 'getMany' && call.collection === 'b');
    const result = await h.pass();
    reads.stop();
    h.sides.b!.pageFrom = original;
    expect(result.summary).toMatchObject({ deleted: 0, updated: 1, failed: 0 });
    expect(reads.calls[0]).toMatchObject({ ids: [target] });
    expect(contents(h.sides.a!)).toEqual(contents(h.sides.b!));
    expect(contents(h.sides.a!).find((record) => record.email === 'p3@example.com')?.name).toBe('Edited and skipped');
  });

  it('does not create again a record that a crashed pass created, when its listing passed that record by', async () => {
    const h = await snapshotPair();
    h.sides.a!.insert({ email: 'new@example.com', name: 'New' });
    h.store.faults.crashAfterWrite = 1;
    expect((await h.pass()).status).toBe('failed');
    const orphan = h.sides.b!.all().find((record) => record.fields.email === 'new@example.com')?.id as string;
    expect(orphan).toBeDefined();
    const original = h.sides.b!.pageFrom.bind(h.sides.b!);
    h.sides.b!.pageFrom = (position, limit) => {
      const page = original(position, limit);
      return { ...page, records: page.records.filter((record) => record.id !== orphan) };
    };
    const passedBy = await h.pass();
    h.sides.b!.pageFrom = original;
    expect(passedBy.summary).toMatchObject({ created: 0, failed: 0 });
    const adopted = await h.pass();
    expect(adopted.summary).toMatchObject({ created: 0, failed: 0 });
    expect(h.sides.b!.all().filter((record) => record.fields.email === 'new@example.com').map((record) => record.id)).toEqual([orphan]);
    expect(contents(h.sides.a!)).toEqual(contents(h.sides.b!));
  });

  it('creates a record a crashed create did not make, even when the pass that found so crashed too', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'], collections: { b: { changeFeed: false, versions: 'none', tags: false } } });
    h.sides.a!.insert({ email: 'x@example.com', name: 'X' });
    // The create on b fails and the process dies right after: a pending create that made nothing.
    const stopFailing = h.store.failWhen((call) => call.method === 'writeOp' && call.collection === 'b' && 'injected outage');
    h.store.faults.crashAfterWrite = 1;
    expect((await h.pass()).status).toBe('failed');
    stopFailing();
    h.store.clearFaults();
    // A hint pass does not list b, so it leaves that create unsettled; a's record is merged and its cursor moves on.
    expect((await h.pass({ hints: [] })).status).toBe('ok');
    // The next pass lists b, finds that nothing was made, and dies in a write before it could create it again.
    h.sides.a!.insert({ email: 'y@example.com', name: 'Y' });
    h.store.faults.crashAfterWrite = 1;
    expect((await h.pass()).status).toBe('failed');
    h.store.clearFaults();
    await h.pass();
    await h.pass();
    expect(contents(h.sides.b!).map((record) => record.email)).toEqual(['x@example.com', 'y@example.com']);
    expect(contents(h.sides.a!)).toEqual(contents(h.sides.b!));
  });

  it('decides no delete from a listing that failed part way, and the next pass does', async () => {
    const h = await snapshotPair();
    h.sides.b!.delete(h.people[0] as string);
    const stop = h.store.failWhen((call) => call.method === 'listSince' && call.collection === 'b' && call.position.afterId !== null && 'connection reset');
    const failed = await h.pass({ pageSize: 2 });
    stop();
    expect(failed.status).toBe('failed');
    expect(failed.summary).toMatchObject({ deleted: 0 });
    expect(contents(h.sides.a!)).toHaveLength(6);
    const next = await h.pass({ pageSize: 2 });
    expect(next.summary).toMatchObject({ deleted: 1 });
    expect(contents(h.sides.a!)).toHaveLength(5);
  });

  it('stops cleanly on a rate limit part way through its listing, deleting nothing', async () => {
    const h = await snapshotPair();
    h.sides.b!.delete(h.people[5] as string);
    const stop = h.store.failWhen(
      (call) => call.method === 'listSince' && call.collection === 'b' && call.position.afterId !== null && new RateLimitedError('memory', new Date(Date.now() + 60_000), 'test budget'),
    );
    const stopped = await h.pass({ pageSize: 2 });
    stop();
    expect(stopped.status).toBe('stopped');
    expect(contents(h.sides.a!)).toHaveLength(6);
    expect((await h.pass()).summary).toMatchObject({ deleted: 1 });
  });

  it('stops for review when its listing would delete too many linked records', async () => {
    const h = await snapshotPair({}, { massDelete: { maxShare: 0.5, minCount: 2 } });
    for (const id of h.people.slice(0, 4)) h.sides.b!.delete(id);
    const stopped = await h.pass();
    expect(stopped.status).toBe('stopped');
    expect(stopped.error).toMatch(/would delete 4 of the 6/);
    expect(contents(h.sides.a!)).toHaveLength(6);
  });

  it('compares links saved before shadows were hashed by their shadow, hashes them, and stays quiet', async () => {
    const h = await snapshotPair();
    await changeStoredLinks(h.db, () => ({ shadow_hash: null }));
    const quiet = await h.pass();
    expect(quiet.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    const hashed = await storedLinks(h.db, { nodeId: 'b' });
    expect(hashed.every((row) => row.shadow_hash !== null)).toBe(true);
    // And an edit is still seen against the shadow the hash was taken of.
    await changeStoredLinks(h.db, () => ({ shadow_hash: null }));
    h.sides.b!.update(h.people[1] as string, { name: 'After the upgrade' });
    expect((await h.pass()).summary).toMatchObject({ updated: 1 });
  });

  it('keeps hashes on its own links only, where a listing compares them', async () => {
    const h = await snapshotPair();
    const links = await storedLinks(h.db);
    expect(links.filter((link) => link.node_id === 'b').every((link) => link.shadow_hash !== null)).toBe(true);
    expect(links.filter((link) => link.node_id === 'a').every((link) => link.shadow_hash === null)).toBe(true);
  });

  it('in a dry run, reports the same and stores nothing', async () => {
    const h = await snapshotPair({ tags: false });
    await changeStoredLinks(h.db, () => ({ shadow_hash: null }));
    h.sides.b!.update(h.people[0] as string, { name: 'Planned' });
    const before = await stateRows(h);
    const dry = await h.pass({ dryRun: true });
    expect(dry.summary).toMatchObject({ updated: 1 });
    expect(await stateRows(h)).toEqual(before);
  });
});

describe('a hint pass with a side without a change feed', () => {
  it('does not list that side for a change to a linked record', async () => {
    const h = await snapshotPair();
    const aId = h.sides.a!.all()[0]!.id;
    h.sides.a!.update(aId, { name: 'Hinted' });
    const listings = spy(h, (call) => call.method === 'listSince' && call.collection === 'b');
    const result = await h.pass({ hints: [{ nodeId: 'a', recordId: aId, type: 'upsert' }] });
    listings.stop();
    expect(result.summary).toMatchObject({ updated: 1 });
    expect(listings.calls).toEqual([]);
  });

  it('lists that side before creating there a record that may already exist there', async () => {
    const h = await snapshotPair();
    // The same person entered on both systems since the last pass: b's record is in no link yet.
    h.sides.b!.insert({ email: 'new@example.com', name: 'New on b' });
    const aId = h.sides.a!.insert({ email: 'new@example.com', name: 'New on a' });
    const result = await h.pass({ hints: [{ nodeId: 'a', recordId: aId, type: 'upsert' }] });
    expect(result.summary).toMatchObject({ created: 0, conflicts: 0, failed: 0 });
    expect(contents(h.sides.b!).filter((record) => record.email === 'new@example.com')).toHaveLength(1);
    expect(contents(h.sides.a!)).toEqual(contents(h.sides.b!));
  });

  it('lists that side before trying again a create that failed there, which someone may have made by hand since', async () => {
    const h = await snapshotPair();
    h.sides.a!.insert({ email: 'retry@example.com', name: 'Retry' });
    const stop = h.store.failWhen((call) => call.method === 'writeOp' && call.collection === 'b' && 'injected outage');
    expect((await h.pass()).summary).toMatchObject({ created: 0, failed: 1 });
    stop();
    // Meanwhile someone enters the person on b by hand.
    const byHand = h.sides.b!.insert({ email: 'retry@example.com', name: 'Retry' });
    const hinted = await h.pass({ hints: [] });
    expect(hinted.summary).toMatchObject({ created: 0, conflicts: 0, failed: 0 });
    expect(h.sides.b!.all().filter((record) => record.fields.email === 'retry@example.com').map((record) => record.id)).toEqual([byHand]);
    const link = await h.db.selectFrom('links').select(['entity_id']).where('node_id', '=', 'b').where('record_id', '=', byHand).executeTakeFirst();
    expect(link?.entity_id).toBeDefined();
    expect((await h.pass()).summary).toMatchObject({ created: 0, conflicts: 0, failed: 0 });
  });

  it('creates without listing when the flow matches by no fields', async () => {
    const h = await snapshotPair({}, { match: [] });
    const aId = h.sides.a!.insert({ email: 'solo@example.com', name: 'Solo' });
    const listings = spy(h, (call) => call.method === 'listSince' && call.collection === 'b');
    const result = await h.pass({ hints: [{ nodeId: 'a', recordId: aId, type: 'upsert' }] });
    listings.stop();
    expect(result.summary).toMatchObject({ created: 1 });
    expect(listings.calls).toEqual([]);
  });
});

describe('stageSnapshot', () => {
  it('refuses a connector whose next position is the one it was asked for', async () => {
    const h = await snapshotPair();
    const stuck: Connector = {
      capabilities: { conditionalWrites: false, tags: false, incremental: false, fullScan: false, changeFeed: false },
      listSince: async (position) => ({ records: [], next: position }),
      getMany: async () => new Map(),
      write: async () => [],
      scanIds: async function* () {},
      describe: async () => [],
      close: async () => {},
    };
    const staging = new ChangeStaging();
    try {
      await expect(
        stageSnapshot({
          db: h.db,
          flowId: h.flow.id,
          nodeId: 'b',
          connector: stuck,
          staging,
          pageSize: 10,
          dryRun: false,
          findDeletes: true,
          project: () => ({ projection: null, problem: null, dropped: true, matchKey: null }),
          echo: () => {},
        }),
      ).rejects.toThrow(/trigger "b": cannot list changes: .*would never end/);
      // Nothing staged: not even the linked records, which a listing that never ended cannot call deleted.
      expect(staging.countPendingDeletes()).toBe(0);
    } finally {
      staging.close();
    }
  });
});
