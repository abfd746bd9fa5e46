/**
 * A flow may hold several connected parts, each with its own conflict node and triggers (SPEC §4): one pass syncs
 * them all, each only between its own sides, and what a pass learns about a side (the live links its delete check
 * counts on, sideKnowledge.ts) is that side's alone.
 */
import { describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';
import { connectorRegistry } from '../../runtime/connectors/index';
import { createMemoryStore, InjectedFault } from '../../runtime/connectors/memory/index';
import { LiveStatus } from '../../runtime/api/liveStatus';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { storedKnowledge } from '../../runtime/db/knowledgeQueries';
import { countLiveLinks } from '../../runtime/db/queries';
import { SyncEngine } from '../../runtime/engine/index';
import type { PassOptions } from '../../runtime/engine/types';
import { RateLimitedError } from '../../runtime/connectors/types';
import { contents } from './memory-flows';

/** Two parts in one flow: a → b through conflict node `first`, c → d through `second`, on one memory store. */
function twoPartFlow(store: string, massDelete?: { maxShare: number; minCount: number }): FlowDocument {
  const trigger = (id: string, x: number, y: number) => ({
    id,
    type: 'trigger',
    typeVersion: 1,
    position: { x, y },
    config: { connector: 'memory', connection: { store }, collection: id, key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } },
  });
  const conflict = (id: string, y: number) => ({ id, type: 'conflict', typeVersion: 1, position: { x: 200, y }, config: { policy: 'last-write-wins', fields: {}, match: ['email'], deletes: 'propagate', ...(massDelete ? { massDelete } : {}) } });
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: `flow-${store}`,
    name: store,
    nodes: [trigger('a', 0, 0), conflict('first', 0), trigger('b', 400, 0), trigger('c', 0, 300), conflict('second', 300), trigger('d', 400, 300)],
    edges: [
      { id: 'e-a', source: 'a', target: 'first' },
      { id: 'e-b', source: 'first', target: 'b' },
      { id: 'e-c', source: 'c', target: 'second' },
      { id: 'e-d', source: 'second', target: 'd' },
    ],
  });
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

interface HarnessOptions {
  /** Called after each batch of writes to a side, before the pass commits it: a test throws there to end a part. */
  afterSideWrites?: (nodeId: string) => void;
  /** Both conflict nodes' mass-delete guard. */
  massDelete?: { maxShare: number; minCount: number };
  /** The engine's clock. */
  now?: () => Date;
}

async function harness(name: string, options: HarnessOptions = {}) {
  const store = createMemoryStore(name, { seed: 1 });
  const sides = Object.fromEntries(['a', 'b', 'c', 'd'].map((id) => [id, store.createCollection(id)]));
  const flow = twoPartFlow(name, options.massDelete);
  const db = await openStateDb(':memory:');
  const engine = new SyncEngine({ db, connectors: connectorRegistry, retry: { attempts: 2, baseMs: 1, maxWaitMs: 5 }, afterSideWrites: options.afterSideWrites, ...(options.now ? { now: options.now } : {}) });
  return { store, sides, flow, db, engine, pass: (more: Partial<PassOptions> = {}) => engine.runPass(flow, { baseDir: '.', ...more }) };
}

/** What the last pass handed on about each side's live links, beside the links table's own count. */
async function liveLinksKnown(db: StateDb, flowId: string): Promise<Record<string, { known: number | null; counted: number }>> {
  const row = await storedKnowledge(db, flowId);
  const known = JSON.parse(row?.sides ?? '{}') as Record<string, { liveLinks: number | null }>;
  const out: Record<string, { known: number | null; counted: number }> = {};
  for (const side of ['a', 'b', 'c', 'd']) out[side] = { known: known[side]?.liveLinks ?? null, counted: await countLiveLinks(db, flowId, side) };
  return out;
}

describe('a flow of two parts', () => {
  it('syncs each part between its own sides only, and the next pass is quiet', async () => {
    const h = await harness('flow-parts-sync');
    h.sides.a!.insert({ email: 'ada@example.com', name: 'Ada' });
    h.sides.c!.insert({ email: 'grace@example.com', name: 'Grace' });
    h.sides.d!.insert({ email: 'linus@example.com', name: 'Linus' });

    const first = await h.pass();
    expect(first.summary).toMatchObject({ created: 3, failed: 0 });
    expect(contents(h.sides.b!)).toEqual([expect.objectContaining({ email: 'ada@example.com', name: 'Ada' })]);
    expect(contents(h.sides.c!).map((record) => record.email)).toEqual(['grace@example.com', 'linus@example.com']);
    expect(contents(h.sides.d!).map((record) => record.email)).toEqual(['grace@example.com', 'linus@example.com']);
    expect(contents(h.sides.a!).map((record) => record.email)).toEqual(['ada@example.com']);

    await h.pass(); // the echoes of the creates, with a full scan of each side that finds every record linked
    const { writeOp, scanIds } = h.store.calls;
    const quiet = await h.pass();
    expect(quiet.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(h.store.calls.writeOp).toBe(writeOp);
    // What the last pass learned of all four sides holds: no side needs its scan for hard deletes.
    expect(h.store.calls.scanIds).toBe(scanIds);
  });

  it('hands on each side’s own count of live links, which holds as links are made and ended in both parts', async () => {
    const h = await harness('flow-parts-knowledge');
    const ids = ['one', 'two', 'three'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    const others = ['four', 'five'].map((name) => h.sides.c!.insert({ email: `${name}@example.com`, name }));
    await h.pass();
    await h.pass();
    expect(await liveLinksKnown(h.db, h.flow.id)).toEqual({ a: { known: 3, counted: 3 }, b: { known: 3, counted: 3 }, c: { known: 2, counted: 2 }, d: { known: 2, counted: 2 } });

    // One part gains a record while the other loses one: each count follows its own side.
    h.sides.a!.insert({ email: 'six@example.com', name: 'Six' });
    h.sides.c!.delete(others[0]!);
    const changed = await h.pass();
    expect(changed.summary).toMatchObject({ created: 1, deleted: 1, failed: 0 });
    expect(contents(h.sides.d!).map((record) => record.email)).toEqual(['five@example.com']);
    expect(contents(h.sides.b!)).toHaveLength(4);
    await h.pass();
    const counts = await liveLinksKnown(h.db, h.flow.id);
    for (const [side, { known, counted }] of Object.entries(counts)) expect(known, side).toBe(counted);
    expect(counts).toMatchObject({ a: { counted: 4 }, c: { counted: 1 } });

    // A hard delete in the first part is still seen by the pass after.
    h.sides.a!.delete(ids[1]!);
    expect((await h.pass()).summary).toMatchObject({ deleted: 1, failed: 0 });
    expect(contents(h.sides.b!).map((record) => record.email)).not.toContain('two@example.com');
  });

  it('counts a part’s links afresh after it recovers an interrupted page, whatever an earlier part counted', async () => {
    // A pass counts link changes only while a part lists at most 20,000 records (sideKnowledge.ts); a larger part
    // counts its sides when it is done. Here the second part is that large, and its first pass dies after its first
    // batch of creates on d, leaving links it promised in the journal for the next pass to restore.
    let crash = true;
    const h = await harness('flow-parts-recovery', {
      afterSideWrites: (nodeId) => {
        if (nodeId === 'd' && crash) throw new Error('the process died here');
      },
    });
    h.sides.a!.insert({ email: 'ada@example.com', name: 'Ada' });
    for (let index = 0; index < 20_001; index++) h.sides.c!.insert({ email: `c${index}@example.com`, name: `C ${index}` });
    expect((await h.pass()).status).toBe('failed');
    expect(await h.db.selectFrom('write_ahead').select('page').execute()).toHaveLength(1);

    crash = false;
    const recovered = await h.pass();
    expect(recovered.status).toBe('ok');
    expect(contents(h.sides.d!)).toHaveLength(20_001);
    const counts = await liveLinksKnown(h.db, h.flow.id);
    for (const [side, { known, counted }] of Object.entries(counts)) expect(known, side).toBe(counted);
    expect(counts).toMatchObject({ a: { counted: 1 }, b: { counted: 1 }, c: { counted: 20_001 }, d: { counted: 20_001 } });
  }, 60_000);

  it('never joins a record to another part’s entity, even with the same match values', async () => {
    const h = await harness('flow-parts-match');
    h.sides.c!.insert({ email: 'grace@example.com', name: 'Grace (HR)' });
    await h.pass();
    await h.pass();
    // Both parts match on email; the same person turns up on a, in the other pair of systems.
    h.sides.a!.insert({ email: 'grace@example.com', name: 'Grace (CRM)' });
    const linked = await h.pass();
    expect(linked.summary).toMatchObject({ created: 1, updated: 0, conflicts: 0, failed: 0 });
    expect(contents(h.sides.b!)).toEqual([expect.objectContaining({ name: 'Grace (CRM)' })]);

    // An edit in one pair reaches its own pair only.
    const [onC] = h.sides.c!.all();
    h.sides.c!.update(onC!.id, { name: 'Grace Hopper (HR)' });
    await h.pass();
    await h.pass();
    expect(contents(h.sides.d!)).toEqual([expect.objectContaining({ name: 'Grace Hopper (HR)' })]);
    expect(contents(h.sides.a!)).toEqual([expect.objectContaining({ name: 'Grace (CRM)' })]);
    expect(contents(h.sides.b!)).toEqual([expect.objectContaining({ name: 'Grace (CRM)' })]);
    const entities = await h.db.selectFrom('entities').select(['id']).execute();
    expect(entities).toHaveLength(2);
  });

  it('merges the entity of a conflict resolved in one part in that part alone', async () => {
    const h = await harness('flow-parts-resolved');
    h.sides.c!.insert({ email: 'grace@example.com', name: 'Grace' });
    await h.pass();
    await h.pass();
    const entity = await h.db.selectFrom('entities').select(['id']).executeTakeFirstOrThrow();
    await h.db
      .insertInto('conflicts')
      .values({ id: 'c1', flow_id: h.flow.id, entity_id: entity.id, kind: 'field', field: 'name', base: null, sides: JSON.stringify({ c: 'Grace H', d: 'Grace' }), status: 'open', resolution: null, created_at: 'now', resolved_at: null })
      .execute();
    await h.engine.resolveConflict('c1', { value: 'Grace Hopper' });

    const resolved = await h.pass();
    expect(resolved.summary).toMatchObject({ created: 0, updated: 2, failed: 0 });
    expect(contents(h.sides.c!)).toEqual([expect.objectContaining({ name: 'Grace Hopper' })]);
    expect(contents(h.sides.d!)).toEqual([expect.objectContaining({ name: 'Grace Hopper' })]);
    expect(contents(h.sides.a!)).toEqual([]);
    expect(contents(h.sides.b!)).toEqual([]);
  });

  it('lets a reviewed mass delete through on the side reviewed, and stops for another side’s', async () => {
    const h = await harness('flow-parts-mass-delete', { massDelete: { maxShare: 0.5, minCount: 2 } });
    const onA = ['p', 'q', 'r', 's'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    const onC = ['t', 'u', 'v', 'w'].map((name) => h.sides.c!.insert({ email: `${name}@example.com`, name }));
    await h.pass();
    await h.pass();

    for (const id of onA.slice(0, 3)) h.sides.a!.delete(id);
    const stopped = await h.pass();
    expect(stopped.status).toBe('stopped');
    expect(stopped.error).toMatch(/would delete 3 of the 4 records linked on "a"/);
    const [review] = await h.engine.listConflicts({ flowId: h.flow.id, status: 'open' });
    expect(review).toMatchObject({ kind: 'mass-delete', field: 'a' });

    // Approved for a; meanwhile most of c goes too, which nobody has reviewed.
    await h.engine.resolveConflict(review!.id, { value: 'proceed' });
    for (const id of onC.slice(0, 3)) h.sides.c!.delete(id);
    const second = await h.pass();
    expect(second.status).toBe('stopped');
    expect(second.error).toMatch(/would delete 3 of the 4 records linked on "c"/);
    expect(contents(h.sides.b!)).toHaveLength(1);
    expect(contents(h.sides.d!)).toHaveLength(4);
    const open = await h.engine.listConflicts({ flowId: h.flow.id, status: 'open' });
    expect(open).toEqual([expect.objectContaining({ kind: 'mass-delete', field: 'c' })]);

    await h.engine.resolveConflict(open[0]!.id, { value: 'proceed' });
    expect((await h.pass()).status).toBe('ok');
    expect(contents(h.sides.d!)).toHaveLength(1);
  });

  it('runs every part when one stops or fails, and says which', async () => {
    let failOn: string | null = null;
    const h = await harness('flow-parts-isolated', {
      afterSideWrites: (nodeId) => {
        if (nodeId === failOn) throw new Error(`${nodeId} could not be written`);
      },
      massDelete: { maxShare: 0.5, minCount: 2 },
    });
    const onA = ['p', 'q', 'r'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    await h.pass();
    await h.pass();

    // The first part stops for a review of its deletes; the second still syncs its new record.
    for (const id of onA.slice(0, 2)) h.sides.a!.delete(id);
    h.sides.c!.insert({ email: 'grace@example.com', name: 'Grace' });
    const stopped = await h.pass();
    expect(stopped.status).toBe('stopped');
    expect(stopped.error).toMatch(/^part "first": this pass would delete 2 of the 3 records linked on "a"/);
    expect(contents(h.sides.b!)).toHaveLength(3);
    expect(contents(h.sides.d!)).toEqual([expect.objectContaining({ name: 'Grace' })]);

    const [review] = await h.engine.listConflicts({ flowId: h.flow.id, status: 'open' });
    await h.engine.resolveConflict(review!.id, { value: 'proceed' });
    expect((await h.pass()).status).toBe('ok');
    expect(contents(h.sides.b!)).toEqual([expect.objectContaining({ email: 'r@example.com' })]);

    // The first part's system fails (after its write, before the pass commits it); the second's edit still goes through.
    failOn = 'b';
    h.sides.a!.update(onA[2]!, { name: 'R. Ray' });
    const [grace] = h.sides.c!.all();
    h.sides.c!.update(grace!.id, { name: 'Grace Hopper' });
    const failed = await h.pass();
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('part "first": b could not be written');
    expect(contents(h.sides.d!)).toEqual([expect.objectContaining({ name: 'Grace Hopper' })]);

    failOn = null;
    expect((await h.pass()).status).toBe('ok');
    expect(contents(h.sides.b!)).toEqual([expect.objectContaining({ name: 'R. Ray' })]);
    expect((await h.pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
  });

  it('puts each part’s unreachable system on its own trigger for the canvas', async () => {
    const h = await harness('flow-parts-unreachable');
    h.sides.a!.insert({ email: 'ada@example.com', name: 'Ada' });
    await h.pass();

    const stop = h.store.failWhen((call) => (call.method === 'listSince' && (call.collection === 'b' || call.collection === 'c') ? new InjectedFault(`${call.collection} timed out`) : undefined));
    const failed = await h.pass();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^part "first": trigger "b": cannot list changes: .*b timed out.*; part "second": trigger "c": cannot list changes: .*c timed out/);
    const status = await new LiveStatus(h.db).of(h.flow.id, h.flow);
    expect(Object.fromEntries(Object.entries(status.nodes).map(([nodeId, node]) => [nodeId, node.problem?.message ?? null]))).toEqual({
      a: null,
      b: expect.stringMatching(/^cannot list changes: .*b timed out/),
      c: expect.stringMatching(/^cannot list changes: .*c timed out/),
      d: null,
    });

    stop();
    expect((await h.pass()).status).toBe('ok');
    expect(Object.values((await new LiveStatus(h.db).of(h.flow.id, h.flow)).nodes).map((node) => node.problem)).toEqual([null, null, null, null]);
  });

  it('leaves a part held by its rate limit alone in the passes nobody asked for, while the other part syncs', async () => {
    let clock = new Date('2026-12-05T12:00:00.000Z');
    const h = await harness('flow-parts-held', { now: () => clock });
    const listed: string[] = [];
    h.store.failWhen((call) => void (call.method === 'listSince' && listed.push(call.collection)));
    let limitedUntil: Date | null = new Date(clock.getTime() + 3_600_000);
    h.store.failWhen((call) => (call.method === 'listSince' && call.collection === 'b' && limitedUntil ? new RateLimitedError('Memory', limitedUntil, '0 requests left') : undefined));
    h.sides.a!.insert({ email: 'ada@example.com', name: 'Ada' });
    h.sides.c!.insert({ email: 'grace@example.com', name: 'Grace' });

    // The limit stops the first part; the second syncs. The flow's poll is not held back: a part can still sync.
    const limited = await h.pass({ reason: 'schedule' });
    expect(limited).toMatchObject({ status: 'stopped', resumeAt: limitedUntil.toISOString(), heldTriggers: ['a', 'b'] });
    expect(limited.idleUntil).toBeUndefined();
    expect(limited.repeatedLimit).toBeUndefined();
    expect(limited.error).toMatch(/^part "first": trigger "b": cannot list changes: Memory rate limit reached/);
    expect(contents(h.sides.d!)).toEqual([expect.objectContaining({ name: 'Grace' })]);
    // What the second part learned of its sides is kept: its polls need no scan for hard deletes meanwhile.
    expect(await liveLinksKnown(h.db, h.flow.id)).toEqual({ a: { known: null, counted: 0 }, b: { known: null, counted: 0 }, c: { known: 1, counted: 1 }, d: { known: 1, counted: 1 } });
    const scans = h.store.calls.scanIds;

    // A poll within the minute does not call a or b: the hold is a minute at most, however late the system said.
    clock = new Date(clock.getTime() + 30_000);
    h.sides.c!.insert({ email: 'linus@example.com', name: 'Linus' });
    listed.length = 0;
    const held = await h.pass({ reason: 'schedule' });
    expect(listed.sort()).toEqual(['c', 'd']);
    expect(held).toMatchObject({ status: 'stopped', resumeAt: '2026-12-05T12:01:00.000Z', repeatedLimit: true });
    expect(held.error).toMatch(/^part "first": trigger "b": cannot list changes: Memory rate limit reached .*\(its system is not called again before 2026-12-05T12:01:00.000Z; a pass run by hand calls it at once\)$/);
    expect(contents(h.sides.d!).map((record) => record.name)).toEqual(['Grace', 'Linus']);
    expect(h.store.calls.scanIds).toBe(scans);
    const status = await new LiveStatus(h.db, () => clock).of(h.flow.id, h.flow);
    expect(status.nodes.b?.problem?.message).toMatch(/^cannot list changes: Memory rate limit reached/);

    // A webhook batch for the other part is not held back by the hold; one for the held part is.
    const [linus] = h.sides.c!.all().filter((record) => record.fields.name === 'Linus');
    h.sides.c!.update(linus!.id, { name: 'Linus T.' });
    const other = await h.pass({ reason: 'webhook', hints: [{ nodeId: 'c', recordId: linus!.id, type: 'upsert' }] });
    expect(other).toMatchObject({ status: 'ok', summary: expect.objectContaining({ updated: 1 }) });
    expect(other.resumeAt).toBeUndefined();
    expect(other.heldTriggers).toBeUndefined();
    // That run synced; the canvas still shows the held part's refusal on the trigger whose system refused.
    const after = await new LiveStatus(h.db, () => clock).of(h.flow.id, h.flow);
    expect(after.nodes.b?.problem).toMatchObject({ status: 'stopped', message: expect.stringMatching(/^cannot list changes: Memory rate limit reached .*not called again before 2026-12-05T12:01:00.000Z/) });
    expect(after.nodes.a?.problem).toBeNull();
    const [ada] = h.sides.a!.all();
    const mine = await h.pass({ reason: 'webhook', hints: [{ nodeId: 'a', recordId: ada!.id, type: 'upsert' }] });
    expect(mine).toMatchObject({ status: 'stopped', resumeAt: '2026-12-05T12:01:00.000Z', heldTriggers: ['a', 'b'] });
    // A batch for both parts syncs the other part's record and names the held part's triggers, whose events wait.
    h.sides.c!.update(linus!.id, { name: 'Linus Torvalds' });
    const both = await h.pass({ reason: 'webhook', hints: [{ nodeId: 'a', recordId: ada!.id, type: 'upsert' }, { nodeId: 'c', recordId: linus!.id, type: 'upsert' }] });
    expect(both).toMatchObject({ status: 'stopped', heldTriggers: ['a', 'b'], summary: expect.objectContaining({ updated: 1 }) });
    expect(contents(h.sides.d!).map((record) => record.name)).toEqual(['Grace', 'Linus Torvalds']);

    // A pass run by hand calls the held system at once, and once the limit is gone the hold goes with it.
    limitedUntil = null;
    listed.length = 0;
    expect((await h.pass({ reason: 'manual' })).status).toBe('ok');
    expect(listed).toContain('b');
    expect(contents(h.sides.b!)).toEqual([expect.objectContaining({ name: 'Ada' })]);
    listed.length = 0;
    expect((await h.pass({ reason: 'schedule' })).status).toBe('ok');
    expect(listed.sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('waits out a hold that covers every part, and calls the system again when it ends', async () => {
    let clock = new Date('2026-12-05T12:00:00.000Z');
    const h = await harness('flow-parts-all-held', { now: () => clock });
    const resumeAt = new Date(clock.getTime() + 3_600_000);
    const refusals: string[] = [];
    h.store.failWhen((call) => (call.method === 'listSince' && (call.collection === 'a' || call.collection === 'c') ? (refusals.push(call.collection), new RateLimitedError('Memory', resumeAt, '0 requests left')) : undefined));

    // Both parts limited: no poll can sync anything before the first of them may call again.
    const first = await h.pass({ reason: 'schedule' });
    expect(first).toMatchObject({ status: 'stopped', idleUntil: resumeAt.toISOString() });
    expect(first.repeatedLimit).toBeUndefined();
    expect(refusals.sort()).toEqual(['a', 'c']);
    clock = new Date(clock.getTime() + 10_000);
    expect(await h.pass({ reason: 'schedule' })).toMatchObject({ status: 'stopped', idleUntil: '2026-12-05T12:01:00.000Z', repeatedLimit: true });
    expect(refusals).toHaveLength(2);

    // A minute on, the hold is over: the poll asks again (once each), and is refused again, which is no news.
    clock = new Date(clock.getTime() + 50_000);
    expect(await h.pass({ reason: 'schedule' })).toMatchObject({ status: 'stopped', idleUntil: resumeAt.toISOString(), repeatedLimit: true });
    expect(refusals).toHaveLength(4);

    // Refused after the time the systems gave: a limit met anew, which the pass reports again.
    clock = new Date(resumeAt.getTime() + 1_000);
    const anew = await h.pass({ reason: 'schedule' });
    expect(anew.status).toBe('stopped');
    expect(anew.repeatedLimit).toBeUndefined();
    expect(refusals).toHaveLength(6);
  });

  it('uses up a mass-delete approval once its part acted on it, even when another part stops the pass', async () => {
    const h = await harness('flow-parts-approval-used', { massDelete: { maxShare: 0.5, minCount: 2 } });
    const onA = ['p', 'q', 'r'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    const onC = ['t', 'u', 'v'].map((name) => h.sides.c!.insert({ email: `${name}@example.com`, name }));
    await h.pass();
    await h.pass();
    for (const id of onA.slice(0, 2)) h.sides.a!.delete(id);
    expect((await h.pass()).status).toBe('stopped');
    const [review] = await h.engine.listConflicts({ flowId: h.flow.id, status: 'open' });
    await h.engine.resolveConflict(review!.id, { value: 'proceed' });

    // a's deletes go through while c's mass delete stops the pass for a review of its own.
    for (const id of onC.slice(0, 2)) h.sides.c!.delete(id);
    const stopped = await h.pass();
    expect(stopped.error).toMatch(/^part "second": this pass would delete 2 of the 3 records linked on "c"/);
    expect(contents(h.sides.b!)).toHaveLength(1);

    // The next mass delete on a is a new one: it waits for its own review.
    const more = ['w', 'x', 'y'].map((name) => h.sides.a!.insert({ email: `${name}@example.com`, name }));
    await h.pass();
    for (const id of more.slice(0, 3)) h.sides.a!.delete(id);
    const again = await h.pass();
    expect(again.error).toMatch(/part "first": this pass would delete 3 of the 4 records linked on "a"/);
    expect(contents(h.sides.b!)).toHaveLength(4);
  });
});
