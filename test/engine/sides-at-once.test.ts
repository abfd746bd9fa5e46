import { afterEach, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { createMemoryStore, type MemoryCollectionOptions } from '../../runtime/connectors/memory/index';
import type { Connector, ConnectorType, WriteOp } from '../../runtime/connectors/types';
import { openStateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import type { ChangeHint } from '../../runtime/engine/types';
import { contents, hubFlow } from './memory-flows';

// A page's writes, and its reads of other sides, go to every side at once (pass/commit.ts executeWrites and
// readBackCreated, pass/link.ts readUnreadSides): with SaaS systems a hub's page then costs its slowest side's round
// trips, not their sum.
describe('the calls of a page to its sides', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An engine whose memory connectors count the writes and reads in flight; `failing` sides throw from every write. */
  async function setup(name: string, failing: ReadonlySet<string> = new Set(), options: MemoryCollectionOptions = {}) {
    const store = createMemoryStore(name);
    const sides = { a: store.createCollection('a', options), b: store.createCollection('b', options), c: store.createCollection('c', options) };
    const flight = { now: 0, most: 0 };
    const reads = { now: 0, most: 0 };
    const memory = connectorRegistry.memory as ConnectorType;
    const counted: ConnectorType = {
      ...memory,
      async open(context) {
        const inner = await memory.open(context);
        const write = async (ops: readonly WriteOp[]) => {
          flight.now++;
          flight.most = Math.max(flight.most, flight.now);
          try {
            // Turns of the event loop, as a request to a system would take: another side's write may start meanwhile.
            // A side that fails answers first, so a pass that did not wait for the others would end with b in flight.
            const turns = failing.has(context.config.collection) ? 1 : 3;
            for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
            if (failing.has(context.config.collection)) throw new Error(`${context.config.collection} is down`);
            return await inner.write(ops);
          } finally {
            flight.now--;
          }
        };
        const getMany = async (ids: readonly string[]) => {
          reads.now++;
          reads.most = Math.max(reads.most, reads.now);
          try {
            await new Promise((resolve) => setImmediate(resolve));
            return await inner.getMany(ids);
          } finally {
            reads.now--;
          }
        };
        const counted = { write, getMany } as Record<PropertyKey, unknown>;
        return new Proxy(inner, { get: (target, key) => (key in counted ? counted[key] : Reflect.get(target, key, target)) }) as Connector;
      },
    };
    const db = await openStateDb(':memory:');
    const engine = new SyncEngine({ db, connectors: { ...connectorRegistry, memory: counted }, retry: { attempts: 1, baseMs: 1, maxWaitMs: 1 } });
    cleanups.push(async () => {
      await engine.close();
      await db.destroy();
    });
    const flow = hubFlow(name, { sides: ['a', 'b', 'c'] });
    return { sides, flight, reads, pass: (hints?: ChangeHint[]) => engine.runPass(flow, { baseDir: '.', ...(hints ? { hints } : {}) }) };
  }

  it('go to every side at once, and each side gets its own', async () => {
    const { sides, flight, pass } = await setup('side-writes-together');
    for (let i = 0; i < 5; i++) sides.a.insert({ email: `p${i}@example.com`, name: `P${i}` });
    const result = await pass();
    expect(result.summary).toMatchObject({ created: 10, failed: 0 });
    expect(flight.most).toBe(2);
    expect(contents(sides.b)).toEqual(contents(sides.a));
    expect(contents(sides.c)).toEqual(contents(sides.a));
  });

  it('read the other sides of changed records at once, and read back what they created at once', async () => {
    const { sides, reads, pass } = await setup('side-reads-together');
    const id = sides.a.insert({ email: 'ada@example.com', name: 'Ada' });
    // The memory collections stand for SaaS APIs: the records created on b and c are read back, one read per side.
    expect((await pass()).summary).toMatchObject({ created: 2, failed: 0 });
    expect(reads.most).toBe(2);
    reads.most = 0;
    sides.a.update(id, { name: 'Ada Lovelace' });
    // A change on a: its entity's records on b and c are read before the merge, then the updates written.
    expect((await pass()).summary).toMatchObject({ updated: 2, failed: 0 });
    expect(reads.most).toBe(2);
    expect(contents(sides.c)).toEqual([{ email: 'ada@example.com', name: 'Ada Lovelace' }]);
  });

  it('read the hinted records of every side at once (a webhook pass)', async () => {
    // Without a change feed a hint pass does not list the sides, so the hinted records are read by id.
    const { sides, reads, pass } = await setup('side-hints-together', new Set(), { changeFeed: false });
    const onA = sides.a.insert({ email: 'ada@example.com', name: 'Ada' });
    await pass();
    const onB = sides.b.all()[0]!.id;
    sides.a.update(onA, { name: 'Ada Lovelace' });
    sides.b.update(onB, { score: 3 });
    reads.most = 0;
    // Both hinted records belong to one entity: the only other read is c's, after both are staged.
    const result = await pass([
      { nodeId: 'a', recordId: onA, type: 'upsert' },
      { nodeId: 'b', recordId: onB, type: 'upsert' },
    ]);
    expect(result.summary).toMatchObject({ failed: 0, conflicts: 0 });
    expect(reads.most).toBe(2);
    expect(contents(sides.c)).toEqual([{ email: 'ada@example.com', name: 'Ada Lovelace', score: 3 }]);
  });

  it('end before the pass reports a side that failed, and the next pass makes what is missing', async () => {
    const down = new Set(['c']);
    const { sides, flight, pass } = await setup('side-writes-one-down', down);
    sides.a.insert({ email: 'ada@example.com', name: 'Ada' });
    const failed = await pass();
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('c is down');
    // The other side's write had finished when the pass ended: nothing of it is still in flight.
    expect(flight.now).toBe(0);
    expect(contents(sides.b)).toEqual([{ email: 'ada@example.com', name: 'Ada' }]);
    down.delete('c');
    expect((await pass()).status).toBe('ok');
    expect(contents(sides.b)).toEqual([{ email: 'ada@example.com', name: 'Ada' }]);
    expect(contents(sides.c)).toEqual([{ email: 'ada@example.com', name: 'Ada' }]);
  });
});
