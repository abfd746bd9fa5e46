import { describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { SyncEngine } from '../../runtime/engine/index';
import { contents, memoryHarness } from './memory-flows';

// Hard deletes are seen by a full scan of each side (SPEC §7). An engine skips the scan when counting proves nothing
// linked is gone; these check that it skips only then.
describe('the scan for hard deletes', () => {
  it('is skipped when nothing changed, and a hard delete is still seen', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const ids = ['one', 'two', 'three'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    await h.pass();
    await h.pass(); // the echo of the creates, with a full scan that finds every record linked
    const scans = h.store.calls.scanIds;
    await h.pass();
    expect(h.store.calls.scanIds).toBe(scans);

    h.sides.a!.delete(ids[1]!);
    const result = await h.pass();
    expect(result.summary.deleted).toBe(1);
    expect(contents(h.sides.b!).map((record) => record.email)).toEqual(['one@example.com', 'three@example.com']);
  });

  it('is not skipped while a record on the side is not linked, even when the counts add up', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const ids = ['one', 'two', 'three'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    // Two records with the same match values: a match conflict, so neither is linked.
    h.sides.a!.insert({ email: 'dup@example.com', name: 'Dup' });
    h.sides.a!.insert({ email: 'DUP@example.com', name: 'Dup too' });
    await h.pass();
    await h.pass();
    await h.pass();

    // Two linked records go, and the side still holds as many records as it has links.
    h.sides.a!.delete(ids[0]!);
    h.sides.a!.delete(ids[2]!);
    const result = await h.pass();
    expect(result.summary.deleted).toBe(2);
    expect(contents(h.sides.b!).map((record) => record.email)).toEqual(['two@example.com']);
  });

  it('is not skipped by an engine that did not run the previous pass', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const id = h.sides.a!.insert({ email: 'one@example.com', name: 'One' });
    h.sides.a!.insert({ email: 'two@example.com', name: 'Two' });
    await h.pass();
    await h.pass();
    // Another engine (another process) syncs the flow in between: what this one learned no longer holds.
    const other = new SyncEngine({ db: h.db, connectors: connectorRegistry });
    h.sides.a!.delete(id);
    await other.runPass(h.flow, { baseDir: '.' });
    expect(contents(h.sides.b!)).toHaveLength(1);
    h.sides.a!.insert({ email: 'three@example.com', name: 'Three' });
    const scans = h.store.calls.scanIds;
    await h.pass();
    expect(h.store.calls.scanIds).toBeGreaterThan(scans);
    expect(contents(h.sides.b!).map((record) => record.email)).toEqual(['three@example.com', 'two@example.com']);
  });
});
