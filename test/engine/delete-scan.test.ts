import { describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { RateLimitedError, type Connector, type ConnectorType } from '../../runtime/connectors/types';
import { LiveStatus } from '../../runtime/api/liveStatus';
import { openStateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { startRun } from '../../runtime/db/runQueries';
import { contents, memoryHarness } from './memory-flows';
import { leadsWorkspace, tick } from './sqlite-fixtures';

/** The registry with `count()` of every connector of one type counted, by the trigger's collection. */
function countingCounts(type: 'memory' | 'sqlite'): { connectors: typeof connectorRegistry; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const real = connectorRegistry[type] as ConnectorType;
  const open: ConnectorType['open'] = async (context) => {
    const connector = await real.open(context);
    const count = connector.count?.bind(connector);
    if (!count) return connector;
    const collection = context.config.collection;
    return new Proxy(connector, {
      get: (target, property, receiver) =>
        property === 'count'
          ? () => {
              counts.set(collection, (counts.get(collection) ?? 0) + 1);
              return count();
            }
          : (Reflect.get(target, property, receiver) as unknown),
    }) satisfies Connector;
  };
  return { connectors: { ...connectorRegistry, [type]: { ...real, open } }, counts };
}

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

  it('is skipped by another engine (another process) after a clean pass, which still sees a hard delete', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const id = h.sides.a!.insert({ email: 'one@example.com', name: 'One' });
    h.sides.a!.insert({ email: 'two@example.com', name: 'Two' });
    await h.pass();
    await h.pass();
    // What the last pass learned is in the state: a fresh engine (every `run --once`) counts instead of scanning.
    let scans = h.store.calls.scanIds;
    await new SyncEngine({ db: h.db, connectors: connectorRegistry }).runPass(h.flow, { baseDir: '.' });
    expect(h.store.calls.scanIds).toBe(scans);
    // Counting shows a record is gone: that pass scans and deletes it on the other side.
    h.sides.a!.delete(id);
    const other = await new SyncEngine({ db: h.db, connectors: connectorRegistry }).runPass(h.flow, { baseDir: '.' });
    expect(other.summary.deleted).toBe(1);
    expect(contents(h.sides.b!)).toHaveLength(1);
    h.sides.a!.insert({ email: 'three@example.com', name: 'Three' });
    scans = h.store.calls.scanIds;
    await h.pass();
    expect(h.store.calls.scanIds).toBe(scans);
    expect(contents(h.sides.b!).map((record) => record.email)).toEqual(['three@example.com', 'two@example.com']);
  });

  it('is not skipped after a pass that did not finish, a resolved conflict or a changed flow', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    h.sides.a!.insert({ email: 'one@example.com', name: 'One' });
    await h.pass();
    await h.pass();
    const scanned = async (run: () => Promise<unknown>) => {
      const before = h.store.calls.scanIds;
      await run();
      return h.store.calls.scanIds > before;
    };
    expect(await scanned(() => h.pass())).toBe(false);
    // A pass killed half way leaves its run behind it, started after what the state knows.
    const known = await h.db.selectFrom('flow_knowledge').select(['started_at']).executeTakeFirstOrThrow();
    await startRun(h.db, { id: 'killed', flowId: h.flow.id, startedAt: known.started_at, reason: 'cli' });
    expect(await scanned(() => h.pass())).toBe(true);
    expect(await scanned(() => h.pass())).toBe(false);
    const changed = { ...h.flow, nodes: h.flow.nodes.map((node) => (node.type === 'conflict' ? { ...node, position: { x: 1, y: 1 } } : node)) };
    expect(await scanned(() => h.engine.runPass(changed, { baseDir: '.' }))).toBe(true);
    expect(await scanned(() => h.engine.runPass(changed, { baseDir: '.' }))).toBe(false);
    const entity = await h.db.selectFrom('entities').select(['id']).executeTakeFirstOrThrow();
    await h.db.insertInto('conflicts').values({ id: 'c1', flow_id: h.flow.id, entity_id: entity.id, kind: 'field', field: 'name', base: null, sides: JSON.stringify({ a: 'x', b: 'y' }), status: 'open', resolution: null, created_at: 'now', resolved_at: null }).execute();
    await h.engine.resolveConflict('c1', { side: 'a' });
    expect(await scanned(() => h.engine.runPass(changed, { baseDir: '.' }))).toBe(true);
  });

  it('does not even count while no record left a side since the last check, and counts and scans once one did', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const { connectors, counts } = countingCounts('memory');
    const engine = new SyncEngine({ db: h.db, connectors });
    const pass = () => engine.runPass(h.flow, { baseDir: '.' });
    const ids = ['one', 'two', 'three'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    await pass();
    await pass();
    counts.clear();
    const scans = h.store.calls.scanIds;
    await pass();
    // A new record and an edit remove nothing: the marks still match, and the listing brings both.
    h.sides.a!.insert({ email: 'four@example.com', name: 'four' });
    h.sides.b!.update(h.sides.b!.all()[0]!.id, { name: 'edited' });
    expect((await pass()).summary).toMatchObject({ created: 1, updated: 1 });
    expect([...counts.values()].reduce((sum, n) => sum + n, 0)).toBe(0);
    expect(h.store.calls.scanIds).toBe(scans);

    h.sides.a!.delete(ids[1]!);
    const result = await pass();
    expect(counts.get('a')).toBe(1);
    expect(result.summary.deleted).toBe(1);
    expect(contents(h.sides.b!).map((record) => record.email)).toEqual(['four@example.com', 'one@example.com', 'three@example.com']);
    counts.clear();
    // The engine's own delete on b moved b's mark: b is counted once more, and agrees.
    await pass();
    expect(counts.get('a') ?? 0).toBe(0);
    expect(counts.get('b')).toBe(1);
  });

  it('on SQLite, counts only after another connection committed to the file, and so sees its hard delete', async () => {
    const workspace = leadsWorkspace();
    const db = await openStateDb(':memory:');
    try {
      const { connectors, counts } = countingCounts('sqlite');
      // One engine for every pass, as `serve` runs them: its SQLite connectors stay open between passes.
      const engine = new SyncEngine({ db, connectors });
      const pass = () => engine.runPass(workspace.flow, { baseDir: workspace.dir });
      const lead = workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)');
      lead.run('Ada', 'Lovelace', 'ada@example.com', 'open', 1000, tick());
      lead.run('Grace', 'Hopper', 'grace@example.com', 'open', 250, tick());
      await pass();
      await pass();
      counts.clear();
      expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0 });
      expect(counts.size).toBe(0);

      workspace.crm.prepare('delete from leads where email = ?').run('grace@example.com');
      const result = await pass();
      expect(counts.get('leads')).toBe(1);
      expect(result.summary.deleted).toBe(1);
      expect(workspace.mkt.prepare('select email from contacts order by email').pluck().all()).toEqual(['ada@example.com']);

      // A fresh engine (every `run --once`) has connections of its own, whose marks say nothing yet: it counts.
      counts.clear();
      await new SyncEngine({ db, connectors }).runPass(workspace.flow, { baseDir: workspace.dir });
      expect(counts.get('leads')).toBe(1);
      expect(counts.get('contacts')).toBe(1);
    } finally {
      workspace.crm.close();
      workspace.mkt.close();
      await db.destroy();
    }
  });
});

describe('a side that fails its check for deletes', () => {
  it('puts the failure on its trigger, so a rate limit met by the scan shows on the node it holds', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const ids = ['one', 'two'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    await h.pass();
    await h.pass();
    const resumeAt = new Date(Date.now() + 60_000);
    h.store.failWhen((call) => (call.method === 'scanIds' && call.collection === 'a' ? new RateLimitedError('Memory', resumeAt, '0 requests left') : undefined));
    // A record leaving side a is what makes the next pass scan it.
    h.sides.a!.delete(ids[0] as string);
    const limited = await h.pass();
    expect(limited).toMatchObject({ status: 'stopped', resumeAt: resumeAt.toISOString() });
    expect(limited.error).toMatch(/^trigger "a": cannot check for deletes: Memory rate limit reached/);
    const status = await new LiveStatus(h.db).of(h.flow.id, h.flow);
    expect(status.nodes.a?.problem?.message).toMatch(/^cannot check for deletes: Memory rate limit reached/);
  });
});
