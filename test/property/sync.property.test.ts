import fc from 'fast-check';
import { describe, it } from 'vitest';
import { memoryHarness } from '../engine/memory-flows';
import { editLog, expectChangesKept, expectConverged, liveRecordId, passWithHints } from './convergence';

/**
 * Random histories of user edits on 2 or 3 systems, interleaved with passes under faults (failing writes, crashes
 * after a write, duplicated and reordered listings and hints). After the faults stop and one quiet pass runs:
 * every side holds the golden record, no entity exists twice on a side, a field only one side changed keeps that
 * change, and one more pass writes nothing.
 */

const runs = Number(process.env.SYNCLINE_PROPERTY_RUNS ?? 200);
const emails = ['ada@x.io', 'alan@x.io', 'grace@x.io', 'kat@x.io', 'linus@x.io'];
const fieldNames = ['name', 'stage', 'score'] as const;

type Step =
  | { kind: 'create'; side: number; email: number; name: string }
  | { kind: 'update'; side: number; email: number; field: (typeof fieldNames)[number]; value: string | number }
  | { kind: 'delete'; side: number; email: number }
  | { kind: 'pass'; failWrites: boolean; crash: boolean; disturb: boolean }
  | { kind: 'hints'; side: number; emails: number[] };

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
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), side: fc.nat(sides - 1), email: fc.nat(emails.length - 1) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('pass' as const), failWrites: fc.boolean(), crash: fc.boolean(), disturb: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('hints' as const), side: fc.nat(sides - 1), emails: fc.array(fc.nat(emails.length - 1), { maxLength: 6 }) }) },
  );

async function check(sideCount: number, matchByEmail: boolean, steps: Step[], seed: number): Promise<void> {
  const names = ['a', 'b', 'c'].slice(0, sideCount);
  const h = await memoryHarness({ sides: names, match: matchByEmail ? ['email'] : [], deletes: 'propagate', massDelete: { maxShare: 1, minCount: 1000 } }, seed);
  const { edits, edit } = editLog();
  const touched = new Set<string>();
  const findId = (side: string, email: string) => liveRecordId(h, side, email);

  for (const s of steps) {
    if (s.kind === 'create') {
      const side = names[s.side] as string;
      const email = emails[s.email] as string;
      if (findId(side, email) || touched.has(email)) continue; // a user does not enter a duplicate on their own system
      // Without match fields, the same email created on two sides is two entities; edits then cannot be told apart by email.
      if (!matchByEmail && names.some((other) => findId(other, email))) continue;
      h.sides[side]!.insert({ email, name: s.name });
      edit(email, 'name', side, s.name);
    } else if (s.kind === 'update') {
      const side = names[s.side] as string;
      const email = emails[s.email] as string;
      const id = findId(side, email);
      if (!id) continue;
      h.sides[side]!.update(id, { [s.field]: s.value });
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
      h.store.faults.reorderListings = s.disturb;
      h.store.faults.duplicateListings = s.disturb;
      await h.pass();
      stopFailing();
      h.store.clearFaults();
    } else {
      await passWithHints(h, names[s.side] as string, s.emails.map((index) => emails[index] as string));
    }
  }

  const { first } = await expectConverged(h, names);
  expectChangesKept(first, edits, (email) => touched.has(email));
}

describe('sync engine properties', () => {
  it.each([
    [2, true],
    [3, true],
    [2, false],
    [3, false],
  ])(`converges with %i sides, matching by email: %s (${runs / 4} cases)`, async (sides, matchByEmail) => {
    await fc.assert(
      fc.asyncProperty(fc.array(step(sides), { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 1_000_000 }), (steps, seed) =>
        check(sides, matchByEmail, steps, seed),
      ),
      { numRuns: Math.ceil(runs / 4) },
    );
  }, 600_000);
});
