import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlowDocument } from '../../nodes';
import { loadFlow } from '../../nodes/flow/load';
import { openStateDb, type StateDb } from '../db';
import { demoFlow } from '../demo/install';
import { LiveStatus, triggerProblems } from './liveStatus';

const summary = (created: number, updated = 0) => JSON.stringify({ created, updated, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });

describe('LiveStatus', () => {
  let db: StateDb;
  let clock: Date;
  let live: LiveStatus;
  let document: FlowDocument;
  let links = 0;

  beforeEach(async () => {
    db = await openStateDb(':memory:');
    clock = new Date('2026-12-01T12:00:00.000Z');
    live = new LiveStatus(db, () => clock);
    const loaded = loadFlow(demoFlow());
    if (!loaded.document) throw new Error('the demo flow does not load');
    document = loaded.document;
  });
  afterEach(async () => {
    await db.destroy();
  });

  const minutesAgo = (minutes: number) => new Date(clock.getTime() - minutes * 60_000).toISOString();
  const later = (seconds: number) => {
    clock = new Date(clock.getTime() + seconds * 1000);
  };

  async function link(nodeId: string, deleted = 0) {
    links += 1;
    await db
      .insertInto('links')
      .values({ flow_id: 'leads', node_id: nodeId, record_id: String(links), entity_id: `e${links}`, deleted })
      .execute();
  }

  async function run(id: string, options: { minutesAgo: number; status?: string; summary?: string | null; error?: string; log?: Array<[string, string]> }) {
    const startedAt = minutesAgo(options.minutesAgo);
    await db
      .insertInto('runs')
      .values({
        id,
        flow_id: 'leads',
        started_at: startedAt,
        finished_at: options.status === 'running' ? null : startedAt,
        status: options.status ?? 'ok',
        reason: 'schedule',
        dry_run: 0,
        summary: options.summary === undefined ? summary(0) : options.summary,
        error: options.error ?? null,
      })
      .execute();
    for (const [nodeId, outcome] of options.log ?? []) {
      await db.insertInto('run_log').values({ id: null, run_id: id, node_id: nodeId, record_id: '1', entity_id: null, outcome, fields: null, message: null, at: startedAt }).execute();
    }
  }

  const counts = async () => {
    const status = await live.of('leads', document);
    return Object.fromEntries(Object.entries(status.nodes).map(([nodeId, node]) => [nodeId, `${node.synced} synced, ${node.changesLastHour} changes`]));
  };

  it('counts each trigger’s records in sync and the records the last hour’s passes wrote on it', async () => {
    for (const nodeId of ['crm', 'crm', 'crm', 'mkt', 'mkt']) await link(nodeId);
    await link('mkt', 1);
    await run('old', { minutesAgo: 90, summary: summary(5), log: [['crm', 'created']] });
    await run('first', { minutesAgo: 30, summary: summary(2, 1), log: [['mkt', 'created'], ['mkt', 'created'], ['crm', 'updated'], ['crm', 'echo']] });
    await run('quiet', { minutesAgo: 20 });
    expect(await counts()).toEqual({ crm: '3 synced, 1 changes', mkt: '2 synced, 2 changes' });

    // Links that no pass made are not counted again until a pass finishes (a pass is what moves them).
    await link('crm');
    later(60);
    expect((await counts()).crm).toBe('3 synced, 1 changes');
    await run('next', { minutesAgo: 0, summary: summary(0, 1), log: [['mkt', 'updated']] });
    // Past any spacing a slow count (a busy machine) asks for before the next.
    later(120);
    expect(await counts()).toEqual({ crm: '4 synced, 1 changes', mkt: '2 synced, 3 changes' });

    // An hour on, the first pass's writes have left the window.
    later(35 * 60);
    expect(await counts()).toEqual({ crm: '4 synced, 0 changes', mkt: '2 synced, 1 changes' });
  });

  it('counts a running pass’s links again every few seconds, so a long first sync is seen to go', async () => {
    await link('crm');
    await run('long', { minutesAgo: 1, status: 'running', summary: null });
    expect((await counts()).crm).toBe('1 synced, 0 changes');
    await link('crm');
    later(1);
    expect((await counts()).crm).toBe('1 synced, 0 changes');
    later(60);
    expect((await counts()).crm).toBe('2 synced, 0 changes');
  });

  it('puts the problem on the trigger whose system the last finished pass could not use, until a pass runs', async () => {
    await run('failed', { minutesAgo: 5, status: 'failed', summary: summary(0), error: 'trigger "mkt": cannot open marketing.db: SQLITE_CANTOPEN' });
    let status = await live.of('leads', document);
    expect(status.nodes.mkt?.problem).toEqual({ message: 'cannot open marketing.db: SQLITE_CANTOPEN', at: minutesAgo(5), status: 'failed' });
    expect(status.nodes.crm?.problem).toBeNull();

    // A pass running now has not said yet whether the system is back.
    await run('trying', { minutesAgo: 1, status: 'running', summary: null });
    expect((await live.of('leads', document)).nodes.mkt?.problem?.message).toMatch(/SQLITE_CANTOPEN/);

    await run('back', { minutesAgo: 0 });
    status = await live.of('leads', document);
    expect(status.nodes.mkt?.problem).toBeNull();
  });

  it('counts open conflicts per trigger, and on the conflict node where they meet', async () => {
    const conflict = (id: string, sides: Record<string, unknown>, status = 'open') =>
      db
        .insertInto('conflicts')
        .values({ id, flow_id: 'leads', entity_id: 'e1', kind: 'field', field: 'full_name', base: null, sides: JSON.stringify(sides), status, resolution: null, created_at: minutesAgo(0), resolved_at: null })
        .execute();
    await conflict('c1', { crm: 'Ada', mkt: 'Ada L.' });
    await conflict('c2', { crm: 'Ben' });
    await conflict('c3', { crm: 'x', mkt: 'y' }, 'applied');
    let status = await live.of('leads', document);
    expect([status.nodes.crm?.openConflicts, status.nodes.mkt?.openConflicts]).toEqual([2, 1]);
    expect(status.conflictNodes).toEqual({ resolve: { openConflicts: 2 } });
    // A person resolves one: the next poll counts without it.
    await db.updateTable('conflicts').set({ status: 'resolved' }).where('id', '=', 'c1').execute();
    status = await live.of('leads', document);
    expect([status.nodes.crm?.openConflicts, status.nodes.mkt?.openConflicts]).toEqual([1, 0]);
    expect(status.conflictNodes).toEqual({ resolve: { openConflicts: 1 } });
  });

  it('tells the open conflicts of each part of a flow apart, on its own conflict node', async () => {
    // The demo twice over in one flow: a second part whose node ids end in 2.
    const demo = demoFlow() as { nodes: Array<{ id: string; position: { x: number; y: number }; config: Record<string, unknown> }>; edges: Array<{ id: string; source: string; target: string }> };
    const twice = structuredClone(demo);
    for (const copy of structuredClone(demo.nodes)) {
      copy.id = `${copy.id}2`;
      copy.position = { x: copy.position.x, y: 300 };
      if (copy.id === 'resolve2') copy.config.fields = { stage: { prefer: 'crm2' }, name: 'manual' };
      twice.nodes.push(copy);
    }
    for (const edge of demo.edges) twice.edges.push({ id: `${edge.id}b`, source: `${edge.source}2`, target: `${edge.target}2` });
    const loaded = loadFlow(twice);
    if (!loaded.document) throw new Error(JSON.stringify(loaded.issues));
    const conflict = (id: string, sides: Record<string, unknown>) =>
      db
        .insertInto('conflicts')
        .values({ id, flow_id: 'leads', entity_id: null, kind: 'field', field: 'name', base: null, sides: JSON.stringify(sides), status: 'open', resolution: null, created_at: minutesAgo(0), resolved_at: null })
        .execute();
    await conflict('c1', { crm: 'Ada', mkt: 'Ada L.' });
    await conflict('c2', { crm2: 'Ben', mkt2: 'Benjamin' });
    await conflict('c3', { mkt2: ['4', '5'] });
    const status = await live.of('leads', loaded.document);
    expect(status.conflictNodes).toEqual({ resolve: { openConflicts: 1 }, resolve2: { openConflicts: 2 } });
    expect(status.nodes.mkt2?.openConflicts).toBe(2);
  });

  it('shows nothing for a stored flow that no longer loads', async () => {
    expect(await live.of('leads', null)).toMatchObject({ nodes: {}, conflictNodes: {} });
  });
});

describe('triggerProblems', () => {
  const run = (status: string, error: string | null) => ({ status, error, startedAt: '2026-12-01T12:00:00.000Z', finishedAt: '2026-12-01T12:00:01.000Z' });

  it('names the trigger a failed or stopped pass could not use, and nothing for other failures', () => {
    expect(triggerProblems(run('failed', 'trigger "crm": cannot list changes: ECONNREFUSED'))).toEqual(
      new Map([['crm', { message: 'cannot list changes: ECONNREFUSED', at: '2026-12-01T12:00:01.000Z', status: 'failed' }]]),
    );
    expect([...triggerProblems(run('stopped', 'trigger "gh": cannot list changes: GitHub rate limit reached')).keys()]).toEqual(['gh']);
    expect(triggerProblems(run('failed', 'database is locked')).size).toBe(0);
    expect(triggerProblems(run('ok', 'trigger "crm": old news')).size).toBe(0);
    expect(triggerProblems(null).size).toBe(0);
  });

  it('names the unreachable trigger of each part of a flow of several parts', () => {
    const error = 'part "crm-pair": trigger "crm": cannot list changes: 429; retry-after 30 s; part "hr-pair": trigger "lms": cannot open lms.db';
    const problems = triggerProblems(run('stopped', error));
    expect(Object.fromEntries([...problems].map(([nodeId, problem]) => [nodeId, problem.message]))).toEqual({
      crm: 'cannot list changes: 429; retry-after 30 s',
      lms: 'cannot open lms.db',
    });
    expect(triggerProblems(run('failed', 'part "crm-pair": database is locked')).size).toBe(0);
  });

  it('shows a rate-limit hold on the trigger whose system refused, while it keeps the part alone, whatever the last run', () => {
    const hold = { since: '2026-12-01T12:00:00.000Z', until: '2026-12-01T13:00:00.000Z', reason: 'trigger "gh": cannot list changes: GitHub rate limit reached' };
    // Both triggers of the held part keep the hold; the run after it synced another part.
    const holds = new Map([['gh', hold], ['desk', hold]]);
    const within = new Date('2026-12-01T12:00:30.000Z');
    expect(triggerProblems(run('ok', null), holds, within)).toEqual(
      new Map([['gh', { message: 'cannot list changes: GitHub rate limit reached (its system is not called again before 2026-12-01T12:01:00.000Z; a pass run by hand calls it at once)', at: hold.since, status: 'stopped' }]]),
    );
    // What the last run said of the trigger comes first.
    expect(triggerProblems(run('stopped', 'trigger "gh": cannot list changes: 403'), holds, within).get('gh')?.message).toBe('cannot list changes: 403');
    // After its minute the hold no longer keeps the part alone: the next pass says what the system says.
    expect(triggerProblems(run('ok', null), holds, new Date('2026-12-01T12:01:00.000Z')).size).toBe(0);
  });
});
