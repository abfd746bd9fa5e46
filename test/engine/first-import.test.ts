import { describe, expect, it } from 'vitest';
import type { StateDb } from '../../runtime/db/index';
import { storedLinks } from '../support/links';
import { memoryHarness } from './memory-flows';

// A flow's first import (no entity yet) links its pages without asking the state for links or entities by match
// values (pass/link.ts, PassLinking): there are none to find. It must leave exactly the state the lookups leave. The
// same records are imported twice: into an empty state, and into one that already holds an unrelated entity, which
// makes the pass look everything up; the states then agree but for that entity, ids, versions and times.

/** Records of one import: creates both ways, records matched by email across sides, and a match that is not unique. */
function importInto(h: Awaited<ReturnType<typeof memoryHarness>>): void {
  for (let i = 0; i < 120; i++) h.sides.a!.insert({ email: `p${i}@example.com`, name: `Person ${i}`, score: i }, { id: `a-${i}` });
  // Matched by email (one spelled differently): linked, each side's fields merged.
  for (let i = 0; i < 20; i++) h.sides.b!.insert({ email: i === 0 ? ' P0@Example.com' : `p${i * 5}@example.com`, name: `B name ${i}`, city: `City ${i}` }, { id: `b-${i}` });
  // Only on b: created on a.
  for (let i = 0; i < 10; i++) h.sides.b!.insert({ email: `only-b-${i}@example.com`, name: `Only B ${i}` }, { id: `b-only-${i}` });
  // Two records of a with the same email: a match conflict, neither linked.
  h.sides.a!.insert({ email: 'twice@example.com', name: 'Twice 1' }, { id: 'a-twice-1' });
  h.sides.a!.insert({ email: 'TWICE@example.com', name: 'Twice 2' }, { id: 'a-twice-2' });
}

/** Provenance without the run and time of each entry. */
function provenanceShape(text: string | null): unknown {
  if (text === null) return null;
  const stored = JSON.parse(text) as { by: unknown[][] };
  return { ...stored, by: stored.by.map(([side, , rule]) => [side, rule]) };
}

/**
 * The flow's state after the run `runId`, without ids, versions and times: entities with their links (each side's
 * shadow, whether it was written), conflicts, failing records, and the run's log. `leaveOut`: match keys of entities
 * to leave out (and their links and log lines).
 */
async function stateOf(db: StateDb, runId: string, leaveOut: ReadonlySet<string>) {
  const entities = await db.selectFrom('entities').selectAll().execute();
  const links = await storedLinks(db);
  const keyOf = new Map(entities.map((entity) => [entity.id, entity.match_key]));
  const kept = entities.filter((entity) => !leaveOut.has(entity.match_key ?? ''));
  // A record is named by its id where the import gave it one, or by its entity's match key where the pass created it.
  const recordName = new Map(links.map((link) => [`${link.node_id}:${link.record_id}`, link.record_id.includes('-') ? link.record_id : `created for ${keyOf.get(link.entity_id)}`]));
  const byText = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
  return {
    entities: kept
      .map((entity) => ({
        matchKey: entity.match_key,
        golden: JSON.parse(entity.golden) as unknown,
        provenance: provenanceShape(entity.provenance),
        deleted: entity.deleted,
        quarantined: entity.quarantined,
        breakerWrites: entity.breaker_writes,
        links: links
          .filter((link) => link.entity_id === entity.id)
          .map((link) => ({
            node: link.node_id,
            record: recordName.get(`${link.node_id}:${link.record_id}`),
            shadow: link.shadow === null ? null : (JSON.parse(link.shadow) as unknown),
            hasVersion: link.version !== null,
            deleted: link.deleted,
            written: link.written_tag !== null,
            writtenHash: link.written_hash,
          }))
          .sort(byText),
      }))
      .sort(byText),
    conflicts: (await db.selectFrom('conflicts').selectAll().execute()).map((row) => ({ kind: row.kind, field: row.field, base: row.base, sides: row.sides, status: row.status, entity: row.entity_id === null ? null : keyOf.get(row.entity_id) })).sort(byText),
    failing: (await db.selectFrom('failing_records').selectAll().execute()).map((row) => ({ node: row.node_id, record: row.record_id, error: row.error })).sort(byText),
    log: (await db.selectFrom('run_log').selectAll().where('run_id', '=', runId).execute())
      .filter((line) => !leaveOut.has(keyOf.get(line.entity_id ?? '') ?? ''))
      .map((line) => ({ node: line.node_id, record: line.record_id === null ? null : (recordName.get(`${line.node_id}:${line.record_id}`) ?? line.record_id), entity: line.entity_id === null ? null : keyOf.get(line.entity_id), outcome: line.outcome, fields: line.fields, message: line.message }))
      .sort(byText),
  };
}

describe('the first import of a flow', () => {
  // Odd seeds stage in memory, even ones in a temporary file (memoryHarness).
  for (const seed of [1, 2]) {
    it(`leaves the state an import into a flow with entities leaves, record for record (seed ${seed})`, async () => {
      const first = await memoryHarness({ sides: ['a', 'b'] }, seed);
      importInto(first);
      const imported = await first.pass({ pageSize: 25 });

      const ordinary = await memoryHarness({ sides: ['a', 'b'] }, seed);
      ordinary.sides.a!.insert({ email: 'earlier@example.com', name: 'Earlier' }, { id: 'a-earlier' });
      await ordinary.pass();
      importInto(ordinary);
      const after = await ordinary.pass({ pageSize: 25 });

      expect(imported.summary).toMatchObject({ created: 110, updated: 40, conflicts: 1, failed: 0 });
      // The earlier entity's copy on b comes back once as an echo; nothing else differs.
      expect(after.summary).toEqual({ ...imported.summary, echoes: imported.summary.echoes + 1 });
      const earlier = new Set(['["earlier@example.com"]']);
      const firstState = await stateOf(first.db, imported.runId as string, earlier);
      expect(firstState.entities).toHaveLength(130);
      expect(firstState.conflicts).toHaveLength(1);
      expect(await stateOf(ordinary.db, after.runId as string, earlier)).toEqual(firstState);
    });
  }
});
