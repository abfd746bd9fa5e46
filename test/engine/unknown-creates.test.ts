import { describe, expect, it } from 'vitest';
import type { WriteResult } from '../../runtime/connectors/types';
import { createMemoryStore, deleteMemoryStore } from '../../runtime/connectors/memory/index';
import { openStateDb } from '../../runtime/db/index';
import { listFailing } from '../../runtime/db/failingQueries';
import { SyncEngine } from '../../runtime/engine/index';
import { hubFlow, withWrites } from './memory-flows';

/**
 * A system whose answer to a create is lost while `losing` (a timeout, a 502 from a gateway after the request went
 * out): side `b` reports the create failed, perhaps applied, and has made the record when `made` says so.
 */
function lostAnswers(losing: () => boolean, made: () => boolean) {
  return withWrites('b', async (real, ops) => {
    const results: WriteResult[] = [];
    for (const op of ops) {
      if (op.kind !== 'create' || !losing()) {
        results.push(...(await real.write([op])));
        continue;
      }
      if (made()) await real.write([op]);
      results.push({ ok: false, reason: 'failed', message: 'POST: 502 Bad Gateway; the record may have been created all the same', retryable: false, mayHaveApplied: true });
    }
    return results;
  });
}

/** Two sides, nothing to match on: only the create's journal entry can tell the next pass what the lost create made. */
async function scenario(name: string, made: boolean) {
  const store = createMemoryStore(name);
  const a = store.createCollection('a');
  const b = store.createCollection('b');
  let losing = true;
  const db = await openStateDb(':memory:');
  const engine = new SyncEngine({ db, connectors: lostAnswers(() => losing, () => made), retry: { attempts: 2, baseMs: 1, maxWaitMs: 5 } });
  const flow = hubFlow(name, { sides: ['a', 'b'], match: [] });
  const pass = () => engine.runPass(flow, { baseDir: '.' });
  a.insert({ email: 'ada@example.com', name: 'Ada' });
  const first = await pass();
  losing = false;
  return { a, b, db, flow, pass, first, done: async () => { await db.destroy(); deleteMemoryStore(name); } };
}

describe('a create whose answer was lost', () => {
  it('is adopted by the next pass when the system made it, never created a second time', async () => {
    const { b, db, flow, pass, first, done } = await scenario('unknown-create-made', true);
    try {
      expect(first.summary).toMatchObject({ created: 0, failed: 1 });
      expect(b.all()).toHaveLength(1);
      expect(await listFailing(db, flow.id)).toEqual([expect.objectContaining({ nodeId: 'b', error: expect.stringContaining('may have been created all the same') })]);

      const second = await pass();
      expect(second.summary).toMatchObject({ created: 0, failed: 0 });
      expect(b.all().map((record) => record.fields)).toEqual([{ email: 'ada@example.com', name: 'Ada' }]);
      expect(await listFailing(db, flow.id)).toEqual([]);
      expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, failed: 0 });
      expect(b.all()).toHaveLength(1);
    } finally {
      await done();
    }
  });

  it('is created once by the next pass when the system made nothing', async () => {
    const { b, db, flow, pass, first, done } = await scenario('unknown-create-lost', false);
    try {
      expect(first.summary).toMatchObject({ created: 0, failed: 1 });
      expect(b.all()).toHaveLength(0);
      const second = await pass();
      expect(second.summary).toMatchObject({ created: 1, failed: 0 });
      expect(b.all().map((record) => record.fields)).toEqual([{ email: 'ada@example.com', name: 'Ada' }]);
      expect(await listFailing(db, flow.id)).toEqual([]);
      expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, failed: 0 });
    } finally {
      await done();
    }
  });
});
