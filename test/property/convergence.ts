import { expect } from 'vitest';
import type { ChangeHint } from '../../runtime/engine/index';
import { contents, type memoryHarness } from '../engine/memory-flows';

// What the property suites of this folder share: the user's side of a random history (edits remembered per email and
// field, hints for records by email) and the end state every history must reach once the faults stop.

type Harness = Awaited<ReturnType<typeof memoryHarness>>;

/** The id of the live record holding `email` on `side`, if any. */
export function liveRecordId(h: Harness, side: string, email: string): string | undefined {
  return h.sides[side]!.all().find((record) => !record.deleted && record.fields.email === email)?.id;
}

/** Which sides edited one (email, field) since the start, and the value written last. */
export interface FieldEdits {
  sides: Set<string>;
  value: unknown;
}

/** The user edits of a history by (email, field), for the "no lost change" check; keys are `${email}\u0000${field}`. */
export function editLog(): { edits: Map<string, FieldEdits>; edit(email: string, field: string, side: string, value: unknown): void } {
  const edits = new Map<string, FieldEdits>();
  return {
    edits,
    edit(email, field, side, value) {
      const key = `${email}\u0000${field}`;
      const entry = edits.get(key) ?? { sides: new Set<string>(), value: undefined };
      entry.sides.add(side);
      entry.value = value;
      edits.set(key, entry);
    },
  };
}

/** A hint pass for the records of `emails` on `side`: each hint twice and in reverse order, as a webhook may send them. */
export async function passWithHints(h: Harness, side: string, emails: string[]): Promise<void> {
  const hints: ChangeHint[] = [];
  for (const email of emails) {
    const id = liveRecordId(h, side, email);
    if (id) hints.push({ nodeId: side, recordId: id, type: 'upsert' }, { nodeId: side, recordId: id, type: 'upsert' });
  }
  await h.pass({ hints: hints.reverse() });
}

/**
 * Runs the passes that follow the faults and checks where they end: the last pass writes nothing, every side holds
 * the golden record of each of its records, no entity is twice on a side and every live entity is once on every side,
 * and the sides agree record for record. Returns the live links and the first side's records, for further checks.
 */
export async function expectConverged(h: Harness, names: string[]) {
  h.store.clearFaults();
  await h.pass();
  await h.pass();
  const last = await h.pass();
  expect(last.status).toBe('ok');
  expect(last.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

  const entities = await h.db.selectFrom('entities').selectAll().where('deleted', '=', 0).execute();
  const links = await h.db.selectFrom('links').selectAll().where('deleted', '=', 0).execute();
  for (const side of names) {
    const live = h.sides[side]!.all().filter((record) => !record.deleted);
    // No entity twice on a side, and every live entity once on every side.
    const perEntity = new Map<string, number>();
    for (const record of live) {
      const link = links.find((l) => l.node_id === side && l.record_id === record.id);
      expect(link, `record ${record.id} on ${side} is linked`).toBeDefined();
      const entity = entities.find((e) => e.id === link!.entity_id);
      expect(entity, `entity of ${record.id} on ${side}`).toBeDefined();
      // Every side holds the golden record.
      expect(record.fields).toEqual(JSON.parse(entity!.golden));
      perEntity.set(entity!.id, (perEntity.get(entity!.id) ?? 0) + 1);
    }
    expect([...perEntity.values()].every((count) => count === 1)).toBe(true);
    expect(perEntity.size).toBe(entities.length);
  }
  // Sides agree with each other, record for record.
  const first = contents(h.sides[names[0] as string]!);
  for (const side of names.slice(1)) expect(contents(h.sides[side]!)).toEqual(first);
  return { links, first };
}

/**
 * A field only one side ever changed keeps that side's last value in `records` (the converged sides' records), but
 * for the edits `exempt` leaves out (the record was deleted, or a limit of the engine applies).
 */
export function expectChangesKept(records: Array<Record<string, unknown>>, edits: Map<string, FieldEdits>, exempt: (email: string, key: string) => boolean): void {
  for (const [key, entry] of edits) {
    const [email, field] = key.split('\u0000') as [string, string];
    if (entry.sides.size !== 1 || exempt(email, key)) continue;
    const record = records.find((r) => r.email === email);
    if (!record) continue; // a delete of a record that was never synced removed it
    expect(record[field], `${field} of ${email}`).toEqual(entry.value);
  }
}
