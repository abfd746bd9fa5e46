import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChangeStaging, type StagedChange } from './staging';

type Op =
  | { kind: 'add'; node: string; records: Array<{ id: string; key: string | null; deleted: boolean; value: number }> }
  | { kind: 'page'; after: number; limit: number }
  | { kind: 'done'; seqs: number[] }
  | { kind: 'matches'; keys: string[]; after: number }
  | { kind: 'get'; node: string; ids: string[] }
  | { kind: 'scan'; node: string; ids: string[] }
  | { kind: 'missing'; node: string; ids: string[] }
  | { kind: 'counts'; node: string };

const node = fc.constantFrom('a', 'b');
const id = fc.integer({ min: 1, max: 12 }).map(String);
const key = fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: null });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), node, records: fc.array(fc.record({ id, key, deleted: fc.boolean(), value: fc.nat(9) }), { maxLength: 5 }) }) },
  fc.record({ kind: fc.constant('page' as const), after: fc.nat(20), limit: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('done' as const), seqs: fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('matches' as const), keys: fc.array(fc.constantFrom('k1', 'k2', 'k3'), { maxLength: 3 }), after: fc.nat(20) }),
  fc.record({ kind: fc.constant('get' as const), node, ids: fc.array(id, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('scan' as const), node, ids: fc.array(id, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('missing' as const), node, ids: fc.array(id, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('counts' as const), node }),
);

/** Runs the operations and returns everything the staging answered, as plain data. */
function answers(staging: ChangeStaging, ops: readonly Op[]): unknown[] {
  const seen: unknown[] = [];
  for (const step of ops) {
    if (step.kind === 'add') {
      staging.add(
        step.node,
        step.records.map((record) => ({
          record: { id: record.id, version: record.value, tag: null, deleted: record.deleted, fields: { value: record.value } },
          projection: record.deleted ? null : { value: record.value },
          problem: null,
          dropped: false,
          matchKey: record.key,
        })),
      );
    } else if (step.kind === 'page') {
      seen.push(staging.page(step.after, step.limit));
    } else if (step.kind === 'done') {
      staging.markDone(step.seqs);
    } else if (step.kind === 'matches') {
      const page = staging.page(step.after, 3);
      seen.push(Object.fromEntries(staging.byMatchKeys(step.keys, page)));
      for (const matchKey of step.keys) seen.push(staging.byMatchKey(matchKey));
    } else if (step.kind === 'get') {
      seen.push(Object.fromEntries(staging.getMany(step.node, step.ids)), step.ids.map((recordId) => staging.get(step.node, recordId)));
    } else if (step.kind === 'scan') {
      // The ids it had not seen before in the pass, in the order given, each once.
      seen.push(staging.addScanned(step.node, step.ids));
    } else if (step.kind === 'missing') {
      seen.push(staging.missingFromScan(step.node, step.ids));
    } else {
      // Which ids come back past the limit is not promised: callers only ask whether there are more than the limit.
      const present = staging.presentIdsOf(step.node, 3);
      seen.push(staging.countPending(), staging.countPendingDeletes(), present.length, present.length < 3 ? present.sort() : null);
    }
  }
  return seen;
}

describe('change staging', () => {
  it('answers the same in memory, in a file, and when it moves to a file part way', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 15 }), (ops, limit) => {
        const memory = new ChangeStaging(Number.POSITIVE_INFINITY);
        const file = new ChangeStaging(0);
        const moving = new ChangeStaging(limit);
        try {
          const expected = answers(file, ops);
          expect(answers(memory, ops)).toEqual(expected);
          expect(answers(moving, ops)).toEqual(expected);
          expect(memory.spilled).toBe(false);
        } finally {
          memory.close();
          file.close();
          moving.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('moves to a file once it holds more than its limit, keeping what was done', () => {
    const staging = new ChangeStaging(2);
    const change = (recordId: string) => ({ record: { id: recordId, version: 1, tag: null, deleted: false, fields: {} }, projection: {}, problem: null, dropped: false, matchKey: null });
    staging.add('a', [change('1'), change('2')]);
    staging.markDone([1]);
    expect(staging.spilled).toBe(false);
    staging.add('a', [change('3')]);
    expect(staging.spilled).toBe(true);
    expect(staging.page(0, 10).map((staged: StagedChange) => staged.recordId)).toEqual(['2', '3']);
    staging.close();
  });
});
