import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FlowDocument } from '../../nodes';
import { createMemoryStore, deleteMemoryStore } from '../../runtime/connectors/memory/index';
import { RateLimitedError } from '../../runtime/connectors/types';
import type { PassOptions, PassResult } from '../../runtime/engine/types';
import { contents } from '../engine/memory-flows';
import { contacts, createSides, deployPeople, eventually, peopleFlow, setAlertUrl, testRuntime, upsertPerson, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.close();
});

/**
 * What the engine reports when a system's rate limit stopped the pass before it read anything: in a flow of one part
 * (`everyPart`), or in one whose other part synced.
 */
function rateLimited(resumeAt: Date, everyPart: boolean): PassResult {
  return {
    runId: null,
    status: 'stopped',
    summary: { created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 },
    error: `Example rate limit reached (0 requests left); the next pass resumes at ${resumeAt.toISOString()}`,
    resumeAt: resumeAt.toISOString(),
    heldTriggers: ['a', 'b'],
    ...(everyPart ? { idleUntil: resumeAt.toISOString() } : {}),
  };
}

/** The engine's first pass of `flowId` for `reason` reports a rate limit that resets at `resumeAt()`; the rest run. */
function limitFirstPass(t: TestRuntime, flowId: string, reason: string, resumeAt: () => Date, everyPart = true): Array<PassOptions['reason']> {
  const engine = t.runtime.deps.engine;
  const original = engine.runPass.bind(engine);
  const seen: Array<PassOptions['reason']> = [];
  let limited = false;
  engine.runPass = async (flow: FlowDocument, options: PassOptions) => {
    if (flow.id === flowId) seen.push(options.reason);
    if (!limited && flow.id === flowId && options.reason === reason) {
      limited = true;
      return rateLimited(resumeAt(), everyPart);
    }
    return original(flow, options);
  };
  return seen;
}

/** Two parts on one memory store, each fed by a webhook on its first side: a → b through `first`, c → d through `second`. */
function twoPartWebhookFlow(store: string): Record<string, unknown> {
  const trigger = (id: string, x: number, y: number, detect: Record<string, unknown>) => ({
    id,
    type: 'trigger',
    typeVersion: 1,
    position: { x, y },
    config: { connector: 'memory', connection: { store }, collection: id, key: 'id', updatedAt: 'updated', detect },
  });
  const webhook = { mode: 'webhook', secret: { credential: 'hook-secret' } };
  const conflict = (id: string, y: number) => ({ id, type: 'conflict', typeVersion: 1, position: { x: 200, y }, config: { policy: 'last-write-wins', fields: {}, match: ['email'] } });
  return {
    format: 'syncline.flow',
    version: 1,
    id: 'two-parts',
    name: 'Two parts',
    nodes: [trigger('a', 0, 0, webhook), conflict('first', 0), trigger('b', 400, 0, { mode: 'manual' }), trigger('c', 0, 300, webhook), conflict('second', 300), trigger('d', 400, 300, { mode: 'manual' })],
    edges: [
      { id: 'e-a', source: 'a', target: 'first' },
      { id: 'e-b', source: 'first', target: 'b' },
      { id: 'e-c', source: 'c', target: 'second' },
      { id: 'e-d', source: 'second', target: 'd' },
    ],
  };
}

describe('a pass stopped by a rate limit', () => {
  it("keeps its webhook events until the system's limit resets, then syncs them", async () => {
    t = await testRuntime();
    const seen = limitFirstPass(t, 'people', 'webhook', () => new Date(Date.now() + 1_500));
    await deployPeople(t);
    const id = upsertPerson(t.dir, { name: 'Grace Hopper', email: 'grace@example.com' });
    expect((await t.hook('people', 'a', JSON.stringify({ type: 'upsert', id: String(id) }))).status).toBe(202);

    await eventually(() => expect(seen).toContain('webhook'));
    await t.runtime.deps.worker.idle();
    // The stopped pass read nothing: its event must still be there for the pass after the reset.
    expect(await t.inbox.selectFrom('webhook_events').select(['record_id', 'processed_at']).execute()).toEqual([{ record_id: String(id), processed_at: null }]);

    await eventually(() => expect(contacts(t.dir).map((contact) => contact.full_name)).toContain('Grace Hopper'));
    await eventually(async () => expect(await t.inbox.selectFrom('webhook_events').select('id').where('processed_at', 'is', null).execute()).toEqual([]));
  });

  it("keeps the webhook events of the part it stopped, and syncs the other part's at once", async () => {
    t = await testRuntime();
    const store = createMemoryStore('rate-limited-webhooks', { seed: 1 });
    const sides = Object.fromEntries(['a', 'b', 'c', 'd'].map((id) => [id, store.createCollection(id)]));
    // The first part's system refuses every call while `limited`, saying to come back in 1.5 s each time.
    let limited = true;
    store.failWhen((call) => ('collection' in call && ['a', 'b'].includes(call.collection) && limited ? new RateLimitedError('Memory', new Date(Date.now() + 1_500), '0 requests left') : undefined));
    await deployPeople(t, twoPartWebhookFlow('rate-limited-webhooks'));
    const pending = async () => (await t.inbox.selectFrom('webhook_events').select('record_id').where('processed_at', 'is', null).orderBy('id').execute()).map((row) => row.record_id);
    try {
      const adaId = sides.a!.insert({ email: 'ada@example.com', name: 'Ada' });
      expect((await t.hook('two-parts', 'a', JSON.stringify({ type: 'upsert', id: adaId }))).status).toBe(202);
      await t.runtime.deps.worker.idle();
      expect(await pending()).toEqual([adaId]);

      // The hold on the first part's events does not hold back the second part's, which arrive after it began.
      const graceId = sides.c!.insert({ email: 'grace@example.com', name: 'Grace' });
      expect((await t.hook('two-parts', 'c', JSON.stringify({ type: 'upsert', id: graceId }))).status).toBe(202);
      await t.runtime.deps.worker.idle();
      expect(contents(sides.d!)).toEqual([expect.objectContaining({ name: 'Grace' })]);
      expect(await pending()).toEqual([adaId]);

      // Once the system takes calls again, the kept event is read when its hold ends, with no new event to wake it.
      limited = false;
      await eventually(() => expect(contents(sides.b!)).toEqual([expect.objectContaining({ name: 'Ada' })]));
      await eventually(async () => expect(await pending()).toEqual([]));
    } finally {
      deleteMemoryStore('rate-limited-webhooks');
    }
  });

  it('is not polled again at its interval while the system said to wait', async () => {
    t = await testRuntime();
    const seen = limitFirstPass(t, 'people', 'schedule', () => new Date(Date.now() + 3_600_000));
    await deployPeople(t, peopleFlow({ detect: { mode: 'poll', intervalMs: 100 } }));
    await eventually(() => expect(seen).toContain('schedule'));

    // A second flow on the same scheduler at the same interval is the clock. Node fires timers in the order they fall
    // due: had the limited flow's next poll been armed at its interval (100 ms), it would have fired before this flow's
    // third tick, at least 200 ms after its deploy.
    mkdirSync(join(t.dir, 'clock'));
    createSides(join(t.dir, 'clock'));
    const clock = peopleFlow({ id: 'clock', detect: { mode: 'poll', intervalMs: 100 } }) as { nodes: Array<{ config: { connection?: { file: string } } }> };
    for (const node of clock.nodes) if (node.config.connection) node.config.connection = { file: `clock/${node.config.connection.file}` };
    const clockPasses = vi.spyOn(t.runtime.deps.runner, 'runPass');
    await deployPeople(t, clock as unknown as Record<string, unknown>);
    await eventually(() => expect(clockPasses.mock.calls.filter(([flowId, request]) => flowId === 'clock' && request.reason === 'schedule').length).toBeGreaterThanOrEqual(3));
    expect(seen.filter((reason) => reason === 'schedule')).toEqual(['schedule']);
  });

  it('is polled at its interval while another part of the flow can sync', async () => {
    t = await testRuntime();
    const seen = limitFirstPass(t, 'people', 'schedule', () => new Date(Date.now() + 3_600_000), false);
    await deployPeople(t, peopleFlow({ detect: { mode: 'poll', intervalMs: 100 } }));
    // The engine leaves the held part alone in those polls (test/engine/flow-parts.test.ts); the flow's timer goes on.
    await eventually(() => expect(seen.filter((reason) => reason === 'schedule').length).toBeGreaterThanOrEqual(3));
  });

  it('alerts once when a rate limit stops the flow, not for each poll it stops again', async () => {
    t = await testRuntime();
    const engine = t.runtime.deps.engine;
    const results = [rateLimited(new Date(Date.now() + 3_600_000), true), { ...rateLimited(new Date(Date.now() + 60_000), true), repeatedLimit: true }];
    engine.runPass = () => Promise.resolve(results.shift() as PassResult);
    await t.post('/api/flows', peopleFlow());
    await setAlertUrl(t);
    expect(((await (await t.post('/api/flows/people/run')).json()) as { status: string }).status).toBe('stopped');
    expect(((await (await t.post('/api/flows/people/run')).json()) as { status: string }).status).toBe('stopped');
    await t.runtime.alerts.settle();
    expect(t.alerts).toEqual([expect.objectContaining({ kind: 'pass_stopped', flowId: 'people', message: expect.stringMatching(/^a pass of "people" stopped: Example rate limit reached/) })]);
  });
});
