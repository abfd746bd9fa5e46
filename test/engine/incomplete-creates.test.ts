import { describe, expect, it } from 'vitest';
import type { WriteResult } from '../../runtime/connectors/types';
import { openStateDb } from '../../runtime/db/index';
import { listFailing } from '../../runtime/db/failingQueries';
import { SyncEngine } from '../../runtime/engine/index';
import { createMemoryStore, deleteMemoryStore } from '../../runtime/connectors/memory/index';
import { hubFlow, withWrites } from './memory-flows';

/**
 * A system that cannot create a record in its final state (GitHub creates every issue open, Moodle every account
 * active): side `b` creates a record without `status`, then sets it in a second step, which fails while `stepFails`.
 */
function twoStepCreates(stepFails: () => boolean) {
  return withWrites('b', async (real, ops) => {
    const results: WriteResult[] = [];
    for (const op of ops) {
      if (op.kind !== 'create' || op.fields.status === undefined) {
        results.push(...(await real.write([op])));
        continue;
      }
      const { status, ...rest } = op.fields;
      const [created] = await real.write([{ ...op, fields: rest }]);
      if (!created?.ok || stepFails()) {
        results.push(created?.ok ? { ...created, incomplete: 'setting status failed (503)' } : (created as WriteResult));
        continue;
      }
      const [set] = await real.write([{ kind: 'update', id: created.id, fields: { status }, tag: op.tag, expectedVersion: null }]);
      results.push(set?.ok ? set : created);
    }
    return results;
  });
}

describe('a create the system made only in part', () => {
  it('is linked once, filed as failing, and completed by the next pass', async () => {
    const store = createMemoryStore('incomplete-creates');
    try {
      const a = store.createCollection('a');
      const b = store.createCollection('b');
      let failing = true;
      const db = await openStateDb(':memory:');
      const engine = new SyncEngine({ db, connectors: twoStepCreates(() => failing), retry: { attempts: 2, baseMs: 1, maxWaitMs: 5 } });
      const flow = hubFlow('incomplete-creates', { sides: ['a', 'b'] });
      const pass = () => engine.runPass(flow, { baseDir: '.' });
      a.insert({ email: 'ada@example.com', name: 'Ada', status: 'suspended' });

      const first = await pass();
      expect(first.summary).toMatchObject({ created: 1, failed: 1 });
      expect(b.all().map((record) => record.fields)).toEqual([{ email: 'ada@example.com', name: 'Ada' }]);
      const created = b.all()[0]?.id as string;
      expect(await listFailing(db, flow.id)).toEqual([expect.objectContaining({ nodeId: 'b', recordId: created, error: expect.stringContaining('create incomplete: setting status failed (503)') })]);

      // Nothing changed on either side; the failing record alone brings the entity back, and b gets what it lacks.
      failing = false;
      const second = await pass();
      expect(second.summary).toMatchObject({ created: 0, updated: 1, failed: 0 });
      expect(b.all().map((record) => ({ id: record.id, ...record.fields }))).toEqual([{ id: created, email: 'ada@example.com', name: 'Ada', status: 'suspended' }]);
      expect(a.all().map((record) => record.fields)).toEqual([{ email: 'ada@example.com', name: 'Ada', status: 'suspended' }]);
      expect(await listFailing(db, flow.id)).toEqual([]);

      const quiet = await pass();
      expect(quiet.summary).toMatchObject({ created: 0, updated: 0, failed: 0 });
      await db.destroy();
    } finally {
      deleteMemoryStore('incomplete-creates');
    }
  });
});
