import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemoryCall, MemoryCollectionOptions } from '../../runtime/connectors/memory/index';
import { RateLimitedError } from '../../runtime/connectors/types';
import { contents, memoryHarness } from '../engine/memory-flows';
import { editLog, expectChangesKept, expectConverged, liveRecordId, passWithHints } from './convergence';

/**
 * Snapshot change detection under random histories: sides without a change feed (listed whole on every pass, some
 * without versions, some without tags) beside sides with one, user creates, edits (some that leave the version where
 * it was) and deletes on any of them, passes under faults (failing writes, crashes after a write, shuffled, repeated
 * and skipped listings, listings cut off by a failure or a rate limit), and hint passes. Then:
 *
 * - the sides converge as flows between sides with feeds do: after the faults stop, every side holds the golden
 *   record, no entity is twice on a side, a field only one side changed keeps that change, and another pass writes
 *   nothing;
 * - a pass whose listing stopped part way writes nothing at all, deletes included;
 * - nothing is deleted that no user deleted: every email created and never deleted by a user is still there;
 * - after edits to a converged flow, a pass writes only to the entities of the records edited.
 */

const runs = Number(process.env.SYNCLINE_PROPERTY_RUNS ?? 200);
const emails = ['ada@x.io', 'alan@x.io', 'grace@x.io', 'kat@x.io', 'linus@x.io', 'radia@x.io'];
const fieldNames = ['name', 'stage', 'score'] as const;

type Side = { feed: boolean; versions: boolean; tags: boolean };
type Step =
  | { kind: 'create'; side: number; email: number; name: string }
  | { kind: 'update'; side: number; email: number; field: (typeof fieldNames)[number]; value: string | number; keepVersion: boolean }
  | { kind: 'delete'; side: number; email: number }
  | { kind: 'pass'; failWrites: boolean; crash: boolean; disturb: boolean; skip: boolean }
  | { kind: 'cut'; side: number; afterPages: number; rateLimit: boolean }
  | { kind: 'hints'; side: number; emails: number[] };

const sideArbitrary: fc.Arbitrary<Side> = fc.record({ feed: fc.boolean(), versions: fc.boolean(), tags: fc.boolean() });

const step = (sides: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), side: fc.nat(sides - 1), email: fc.nat(emails.length - 1), name: fc.string({ maxLength: 4 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('update' as const),
        side: fc.nat(sides - 1),
        email: fc.nat(emails.length - 1),
        field: fc.constantFrom(...fieldNames),
        value: fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: 0, max: 9 })),
        keepVersion: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), side: fc.nat(sides - 1), email: fc.nat(emails.length - 1) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('pass' as const),
        failWrites: fc.boolean(),
        crash: fc.boolean(),
        disturb: fc.boolean(),
        skip: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), side: fc.nat(sides - 1), afterPages: fc.nat(3), rateLimit: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('hints' as const), side: fc.nat(sides - 1), emails: fc.array(fc.nat(emails.length - 1), { maxLength: 4 }) }) },
  );

function collectionOptions(side: Side): MemoryCollectionOptions {
  // At least one side without a feed: the subject of this test.
  return side.feed ? { tags: side.tags } : { changeFeed: false, versions: side.versions ? 'counter' : 'none', tags: side.tags };
}

async function check(shapes: Side[], steps: Step[], seed: number): Promise<void> {
  const names = ['a', 'b', 'c'].slice(0, shapes.length);
  const h = await memoryHarness(
    {
      sides: names,
      match: ['email'],
      deletes: 'propagate',
      massDelete: { maxShare: 1, minCount: 1000 },
      collections: Object.fromEntries(names.map((name, index) => [name, collectionOptions(shapes[index] as Side)])),
    },
    seed,
  );
  const { edits, edit } = editLog();
  const created = new Set<string>();
  const touched = new Set<string>();
  /**
   * Fields edited before a pass that crashed after a write. A later edit that puts back the value the side's shadow
   * still holds (the dead pass could not move it on) is not seen as an edit: a limit of the engine's write-ahead, with
   * or without a change feed (reported with this test), so the "keeps its change" check leaves these fields out.
   */
  const crashedOver = new Set<string>();
  const findId = (side: string, email: string) => liveRecordId(h, side, email);
  /** Whether a side listed whole holds a record not linked yet whose email another side holds too. */
  const unlinkedTwin = async (): Promise<boolean> => {
    const linked = new Set((await h.db.selectFrom('links').select(['node_id', 'record_id']).where('deleted', '=', 0).execute()).map((link) => `${link.node_id}\u0000${link.record_id}`));
    return names.some(
      (side, index) =>
        !(shapes[index] as Side).feed &&
        h.sides[side]!.all().some(
          (record) => !record.deleted && !linked.has(`${side}\u0000${record.id}`) && names.some((other) => other !== side && findId(other, String(record.fields.email)) !== undefined),
        ),
    );
  };
  /** Every write op the connectors make while `run` runs. */
  const writesDuring = async <T>(run: () => Promise<T>): Promise<{ result: T; writes: Array<Extract<MemoryCall, { method: 'writeOp' }>> }> => {
    const writes: Array<Extract<MemoryCall, { method: 'writeOp' }>> = [];
    const stop = h.store.failWhen((call) => {
      if (call.method === 'writeOp') writes.push(call);
      return null;
    });
    try {
      return { result: await run(), writes };
    } finally {
      stop();
    }
  };

  for (const s of steps) {
    if (s.kind === 'create') {
      const side = names[s.side] as string;
      const email = emails[s.email] as string;
      if (findId(side, email) || touched.has(email)) continue; // a user does not enter a duplicate on their own system
      h.sides[side]!.insert({ email, name: s.name });
      created.add(email);
      edit(email, 'name', side, s.name);
    } else if (s.kind === 'update') {
      const side = names[s.side] as string;
      const email = emails[s.email] as string;
      const id = findId(side, email);
      if (!id) continue;
      // An edit the system does not date (same version, new content), on a side without a feed: a feed that left out
      // an edit would be broken, which no sync can make up for.
      const version = h.sides[side]!.get(id)?.version;
      const undated = s.keepVersion && !(shapes[s.side] as Side).feed && version !== null && version !== undefined;
      h.sides[side]!.update(id, { [s.field]: s.value }, undated ? { version } : {});
      edit(email, s.field, side, s.value);
    } else if (s.kind === 'delete') {
      const side = names[s.side] as string;
      const email = emails[s.email] as string;
      const id = findId(side, email);
      if (!id) continue;
      h.sides[side]!.delete(id);
      touched.add(email);
    } else if (s.kind === 'pass') {
      const stopFailing = s.failWrites ? h.store.failWhen((call) => call.method === 'writeOp' && call.index % 2 === 0 && 'injected outage') : () => {};
      h.store.faults.crashAfterWrite = s.crash ? 1 : 0;
      if (s.crash) for (const key of edits.keys()) crashedOver.add(key);
      h.store.faults.reorderListings = s.disturb;
      h.store.faults.duplicateListings = s.disturb;
      // A whole listing that passes by a record not linked yet, while its twin on another side is created there, makes a
      // duplicate: a limit of listings paged by position that no count-free check can see (docs/connectors.md). Records
      // are passed by only where no such twin waits; every other record a listing passes by must neither be taken for
      // deleted nor lose its change.
      h.store.faults.skipListings = s.skip && !(await unlinkedTwin());
      // Merged in one page: a record linked but not yet on a side, and that side's unlinked record with the same match
      // values, meet only when they share a page (a limit of the merge's paging, not of listing; see the report of
      // snapshot change detection). Listings of many pages are cut below, and tested in runtime/engine/snapshot.test.ts.
      await h.pass();
      stopFailing();
      h.store.clearFaults();
    } else if (s.kind === 'cut') {
      // The listing of one side stops part way, a page of one record at a time: by a failure, or by the system's rate
      // limit. It always stops: a whole listing of n records takes n pages (one when empty); a listing by version
      // takes at least its first.
      const side = names[s.side] as string;
      const cutAt = (shapes[s.side] as Side).feed ? 0 : Math.min(s.afterPages, Math.max(h.sides[side]!.size, 1) - 1);
      let pages = 0;
      const stopCut = h.store.failWhen((call) => {
        if (call.method !== 'listSince' || call.collection !== side) return null;
        if (pages++ < cutAt) return null;
        return s.rateLimit ? new RateLimitedError('memory', new Date(Date.now() + 60_000), 'property test') : 'connection reset';
      });
      const { result, writes } = await writesDuring(() => h.pass({ pageSize: 1 }));
      stopCut();
      // The pass decided nothing, deletes least of all.
      expect(pages).toBeGreaterThan(cutAt);
      expect(result.status).toBe(s.rateLimit ? 'stopped' : 'failed');
      expect(writes).toEqual([]);
    } else {
      await passWithHints(h, names[s.side] as string, s.emails.map((index) => emails[index] as string));
    }
  }

  const { links, first } = await expectConverged(h, names);
  // Deletes from complete listings only: whatever no user deleted is still there.
  const present = new Set(first.map((record) => record.email));
  for (const email of created) if (!touched.has(email)) expect(present.has(email), `${email} was deleted though no user deleted it`).toBe(true);
  expectChangesKept(first, edits, (email, key) => touched.has(email) || crashedOver.has(key));

  // No write to a record that did not change: edit a few records of the converged flow, and the next pass writes
  // only to the entities of those records.
  const editedEntities = new Set<string>();
  let editCount = 0;
  for (const [index, side] of names.entries()) {
    const record = h.sides[side]!.all().find((candidate) => !candidate.deleted && candidate.fields.email === emails[(seed + index) % emails.length]);
    if (!record) continue;
    const version = record.version;
    const undated = (seed + index) % 2 === 0 && !(shapes[index] as Side).feed && version !== null;
    h.sides[side]!.update(record.id, { name: `edited on ${side}` }, undated ? { version } : {});
    const link = links.find((l) => l.node_id === side && l.record_id === record.id);
    if (link) editedEntities.add(link.entity_id);
    editCount++;
  }
  const { result, writes } = await writesDuring(() => h.pass());
  expect(result.status).toBe('ok');
  for (const write of writes) {
    expect(write.op.kind, 'an edit writes updates only').toBe('update');
    const id = (write.op as { id: string }).id;
    const link = links.find((l) => l.node_id === write.collection && l.record_id === id);
    expect(link && editedEntities.has(link.entity_id), `record ${id} on ${write.collection} was written though its entity was not edited`).toBe(true);
  }
  if (editCount > 0) expect(writes.length).toBeLessThanOrEqual(editedEntities.size * names.length);
  const settled = await h.pass();
  expect(settled.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
  for (const side of names.slice(1)) expect(contents(h.sides[side]!)).toEqual(contents(h.sides[names[0] as string]!));
}

describe('snapshot change detection properties', () => {
  it.each([[2], [3]])(`converges with %i sides, at least one without a change feed (${runs / 2} cases)`, async (sides) => {
    const shapes = fc
      .array(sideArbitrary, { minLength: sides, maxLength: sides })
      // One side without a feed at least: the mode under test.
      .map((list) => (list.some((side) => !side.feed) ? list : [{ ...(list[0] as Side), feed: false }, ...list.slice(1)]));
    await fc.assert(
      fc.asyncProperty(shapes, fc.array(step(sides), { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 1_000_000 }), (sideShapes, steps, seed) =>
        check(sideShapes, steps, seed),
      ),
      { numRuns: Math.ceil(runs / 2) },
    );
  }, 600_000);
});
