/**
 * Settings that silently skip records (issue 15): where a change is not carried to a side — the trigger may not
 * create, update or delete there, a filter let the record go no further, the breaker holds it, a field waits on an open
 * conflict — the run log has a `skipped` line saying why, and a dry run's plan the same reason. Records in step get none.
 */
import { describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import type { PassResult, RunLogEntry } from '../../runtime/engine/types';
import { memoryHarness } from './memory-flows';

type Harness = Awaited<ReturnType<typeof memoryHarness>>;

async function skippedLines(h: Harness, result: PassResult): Promise<Array<Pick<RunLogEntry, 'nodeId' | 'recordId' | 'message' | 'fields'>>> {
  const run = await h.engine.getRun(result.runId as string);
  return (run?.log ?? []).filter((line) => line.outcome === 'skipped').map(({ nodeId, recordId, message, fields }) => ({ nodeId, recordId, message, fields }));
}

/** The harness's flow with side `b` allowed only `write`. */
function limitingB(h: Harness, write: Partial<TriggerConfig['write']>): FlowDocument {
  const flow = structuredClone(h.flow);
  const b = flow.nodes.find((node) => node.id === 'b') as { config: TriggerConfig; label?: string };
  b.config.write = { ...b.config.write, ...write };
  b.label = 'Learning';
  return flow;
}

describe('skip reasons', () => {
  it('a trigger that may not create: the record it keeps out is told of once, again when it changes, and in a dry run', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const flow = limitingB(h, { create: false });
    const pass = (dryRun = false) => h.engine.runPass(flow, { baseDir: '.', dryRun });
    const id = h.sides.a!.insert({ email: 'x@example.com', name: 'Contractor' });

    const planned = await pass(true);
    const reason = 'not created in "Learning": "Create records" is off for that trigger';
    expect(planned.planned?.find((side) => side.nodeId === 'a')?.skipped).toEqual([{ id, reason }]);

    const first = await pass();
    expect(first.summary.created).toBe(0);
    expect(await skippedLines(h, first)).toEqual([{ nodeId: 'a', recordId: id, message: reason, fields: [{ field: 'email', before: null, after: 'x@example.com' }, { field: 'name', before: null, after: 'Contractor' }] }]);
    // A pass that finds the record as it was says nothing of it.
    expect(await skippedLines(h, await pass())).toEqual([]);
    h.sides.a!.update(id, { name: 'Contractor, renamed' });
    expect(await skippedLines(h, await pass())).toEqual([expect.objectContaining({ nodeId: 'a', recordId: id, message: reason })]);
    expect(h.sides.b!.all()).toEqual([]);
  });

  it('a trigger that may not update or delete: the change it keeps out, with the fields it would have written', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'], deletes: 'propagate' });
    const id = h.sides.a!.insert({ email: 'x@example.com', name: 'X' });
    await h.pass();
    const bId = h.sides.b!.all()[0]!.id;
    const flow = limitingB(h, { update: false, delete: false });
    h.sides.a!.update(id, { name: 'Y' });
    const updated = await h.engine.runPass(flow, { baseDir: '.' });
    expect(await skippedLines(h, updated)).toEqual([
      { nodeId: 'a', recordId: id, message: 'not updated in "Learning": "Update records" is off for that trigger', fields: [{ field: 'name', before: 'X', after: 'Y' }] },
    ]);
    h.sides.a!.softDelete(id);
    const deleted = await h.engine.runPass(flow, { baseDir: '.' });
    expect(await skippedLines(h, deleted)).toEqual([{ nodeId: 'b', recordId: bId, message: 'not deleted in "Learning": "Delete records" is off for that trigger', fields: [] }]);
    expect(h.sides.b!.get(bId)?.fields.name).toBe('X');
  });

  it('a filter: a record it lets go no further on the way in, and one kept from a side on the way out', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    const trigger = (id: string) => ({ id, type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: { connector: 'memory', connection: { store: h.flow.name }, collection: id, key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } });
    const { document } = loadFlow({
      format: 'syncline.flow',
      version: 1,
      id: h.flow.id,
      name: 'filtered',
      nodes: [
        trigger('a'),
        { id: 'active', label: 'Active only', type: 'filter', typeVersion: 1, position: { x: 0, y: 0 }, config: { condition: "status = 'active'", directions: 'forward' } },
        { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 0, y: 0 }, config: { policy: 'last-write-wins', fields: {}, match: ['email'], deletes: 'propagate' } },
        { id: 'to-b', label: 'Not archived', type: 'filter', typeVersion: 1, position: { x: 0, y: 0 }, config: { condition: "status != 'archived'", directions: 'forward' } },
        trigger('b'),
      ],
      edges: [
        { id: 'e1', source: 'a', target: 'active' },
        { id: 'e2', source: 'active', target: 'hub' },
        { id: 'e3', source: 'hub', target: 'to-b' },
        { id: 'e4', source: 'to-b', target: 'b' },
      ],
    });
    const pass = () => h.engine.runPass(document!, { baseDir: '.' });
    const inactive = h.sides.a!.insert({ email: 'gone@example.com', status: 'inactive' });
    const active = h.sides.a!.insert({ email: 'here@example.com', status: 'active' });
    const first = await pass();
    expect(first.summary.created).toBe(1);
    expect(await skippedLines(h, first)).toEqual([{ nodeId: 'a', recordId: inactive, message: 'filtered out by "Active only": not synced to the other sides', fields: [] }]);

    // Linked, then filtered out on the way in: its change goes nowhere.
    h.sides.a!.update(active, { status: 'inactive' });
    expect(await skippedLines(h, await pass())).toEqual([{ nodeId: 'a', recordId: active, message: 'filtered out by "Active only": not synced to the other sides', fields: [] }]);

    // Passes the way in, kept from b on the way out.
    const archived = h.sides.a!.insert({ email: 'old@example.com', status: 'active' });
    const filteredOut = await h.engine.runPass({ ...document!, nodes: document!.nodes.map((node) => (node.id === 'to-b' ? { ...node, config: { condition: "email != 'old@example.com'", directions: 'forward' } } : node)) } as FlowDocument, { baseDir: '.' });
    expect(await skippedLines(h, filteredOut)).toEqual([{ nodeId: 'a', recordId: archived, message: 'not created in "b": filtered out by "Not archived"', fields: [] }]);
  });

  it('the breaker: a quarantined record whose change is held', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'], breaker: { maxWrites: 2, windowMs: 600_000 } });
    const id = h.sides.a!.insert({ email: 'x@example.com', name: 'v0' });
    await h.pass();
    for (let i = 1; (await h.engine.listConflicts({ flowId: h.flow.id, status: 'open' })).length === 0; i++) {
      if (i > 6) throw new Error('the breaker never tripped');
      h.sides.a!.update(id, { name: `v${i}` });
      await h.pass();
    }
    h.sides.a!.update(id, { name: 'held' });
    expect(await skippedLines(h, await h.pass())).toEqual([
      { nodeId: 'a', recordId: id, message: 'not synced: the breaker quarantined this record (written too often); release it in the conflicts inbox', fields: [] },
    ]);
  });

  it('a field held by an open conflict: a side changing it again waits, and is not filed as a new conflict', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'], fields: { name: 'manual' } });
    const id = h.sides.a!.insert({ email: 'x@example.com', name: 'X' });
    await h.pass();
    const bId = h.sides.b!.all()[0]!.id;
    h.sides.a!.update(id, { name: 'A' });
    h.sides.b!.update(bId, { name: 'B' });
    const filed = await h.pass();
    expect(filed.summary.conflicts).toBe(1);
    expect(await skippedLines(h, filed)).toEqual([]);

    h.sides.a!.update(id, { name: 'A again', stage: 'won' });
    const again = await h.pass();
    const run = await h.engine.getRun(again.runId as string);
    expect(run?.log.filter((line) => line.outcome === 'conflict')).toEqual([]);
    expect(await skippedLines(h, again)).toEqual([{ nodeId: 'a', recordId: id, message: '"name" not written: it waits on an open conflict', fields: [{ field: 'name', before: 'X', after: 'A again' }] }]);
    expect(h.sides.b!.get(bId)?.fields).toMatchObject({ name: 'B', stage: 'won' });
  });
});
