import { describe, expect, it, vi } from 'vitest';
import { serializeFlow } from '../../nodes/flow/jsonText';
import { loadFlow } from '../../nodes/flow/load';
import { createApiClient } from '../api/client';
import { canvasFromDocument, emptyFlow } from '../document/canvasDocument';
import { createFlowStore } from './createFlowStore';
import { memoryDraftBackup } from './draftBackup';
import type { StoreDeps } from './types';

const deps: StoreDeps = {
  // No runtime in these tests: every call fails as "not reachable".
  api: createApiClient(() => null, () => Promise.reject(new Error('offline'))),
  validate: (document) => loadFlow(document).issues,
  migrate: (document) => loadFlow(document).migrated,
  serialize: (document) => serializeFlow(loadFlow(document).migrated),
  backup: memoryDraftBackup(),
};

function storeWithChain() {
  const store = createFlowStore(emptyFlow('t'), deps);
  const state = store.getState();
  const a = state.addNode('trigger', { x: 0, y: 0 });
  const b = state.addNode('mapping', { x: 200, y: 0 });
  store.getState().connect({ source: a, target: b, sourceHandle: null, targetHandle: null });
  return { store, a, b };
}

describe('createFlowStore', () => {
  it('undoes and redoes graph edits one action at a time', () => {
    const { store, a } = storeWithChain();
    expect(store.getState().edges).toHaveLength(1);
    store.temporal.getState().undo();
    expect(store.getState().edges).toHaveLength(0);
    store.temporal.getState().undo();
    expect(store.getState().nodes.map((node) => node.id)).toEqual([a]);
    store.temporal.getState().redo();
    store.temporal.getState().redo();
    expect(store.getState().edges).toHaveLength(1);
  });

  it('brings a deleted node back with its edges in one undo', () => {
    const { store, a } = storeWithChain();
    store.getState().deleteElements([a], []);
    expect(store.getState().edges).toHaveLength(0);
    store.temporal.getState().undo();
    expect(store.getState().nodes).toHaveLength(2);
    expect(store.getState().edges).toHaveLength(1);
  });

  it('does not record selection as an undo step', () => {
    const { store, a } = storeWithChain();
    const steps = store.temporal.getState().pastStates.length;
    store.getState().selectOnly([a]);
    store.getState().applyNodeChanges([{ type: 'select', id: a, selected: false }]);
    expect(store.temporal.getState().pastStates).toHaveLength(steps);
  });

  it('records a drag as one step, back to where it started', () => {
    const { store, a } = storeWithChain();
    store.getState().beginDrag();
    for (let x = 1; x <= 30; x += 1) store.getState().applyNodeChanges([{ type: 'position', id: a, position: { x, y: x }, dragging: true }]);
    store.getState().applyNodeChanges([{ type: 'position', id: a, position: { x: 31, y: 31 }, dragging: false }]);
    store.getState().endDrag();
    store.temporal.getState().undo();
    expect(store.getState().nodes.find((node) => node.id === a)?.position).toEqual({ x: 0, y: 0 });
  });

  it('groups a burst of typing in one field into one step', () => {
    const { store, a } = storeWithChain();
    const before = store.getState().nodes.find((node) => node.id === a)?.data.config;
    for (const collection of ['l', 'le', 'lea', 'lead', 'leads']) {
      store.getState().updateConfig(a, { ...(before as object), collection });
    }
    store.temporal.getState().undo();
    expect(store.getState().nodes.find((node) => node.id === a)?.data.config).toEqual(before);
  });

  it('refuses an invalid connection and says why', () => {
    const { store, a } = storeWithChain();
    const c = store.getState().addNode('conflict', { x: 400, y: 0 });
    expect(store.getState().connect({ source: a, target: c, sourceHandle: null, targetHandle: null })).toMatch(/already has its edge/);
    expect(store.getState().notice?.text).toMatch(/already has its edge/);
    expect(store.getState().edges).toHaveLength(1);
  });

  it('renames a node in edges and prefer policies', () => {
    const { store, a, b } = storeWithChain();
    const c = store.getState().addNode('conflict', { x: 400, y: 0 });
    store.getState().updateConfig(c, { policy: { prefer: a }, fields: { stage: { prefer: a } }, match: [], deletes: 'review' });
    expect(store.getState().renameNode(a, b)).toMatch(/already has the id/);
    expect(store.getState().renameNode(a, 'crm')).toBeNull();
    const state = store.getState();
    expect(state.edges[0]?.source).toBe('crm');
    expect(state.nodes.find((node) => node.id === c)?.data.config).toMatchObject({ policy: { prefer: 'crm' }, fields: { stage: { prefer: 'crm' } } });
  });

  it('pastes copies with fresh ids and the edges between them', () => {
    const { store, a, b } = storeWithChain();
    store.getState().selectOnly([a, b]);
    expect(store.getState().copySelection()).toBe(2);
    expect(store.getState().paste()).toBe(2);
    const { nodes, edges } = store.getState();
    expect(nodes).toHaveLength(4);
    expect(new Set(nodes.map((node) => node.id)).size).toBe(4);
    expect(edges).toHaveLength(2);
    expect(nodes.filter((node) => node.selected)).toHaveLength(2);
  });

  it('validates after content changes, debounced, and not after moves', async () => {
    vi.useFakeTimers();
    try {
      const { store, a } = storeWithChain();
      vi.advanceTimersByTime(500);
      const revision = store.getState().validatedRevision;
      expect(store.getState().issuesByNode[a]?.length).toBeGreaterThan(0);
      store.getState().applyNodeChanges([{ type: 'position', id: a, position: { x: 5, y: 5 } }]);
      vi.advanceTimersByTime(500);
      expect(store.getState().validatedRevision).toBe(revision);
      store.getState().setLabel(a, 'CRM');
      vi.advanceTimersByTime(500);
      expect(store.getState().validatedRevision).toBe(revision + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lists a duplicate id of the file among the issues until the node is given its own', () => {
    const trigger = { id: 'crm', type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: {} };
    const store = createFlowStore(canvasFromDocument({ format: 'syncline.flow', version: 1, id: 't', name: 'T', nodes: [trigger, trigger], edges: [] }), deps);
    const duplicate = (nodeId: string) => store.getState().validateNow().filter((issue) => issue.nodeId === nodeId && issue.message.startsWith('duplicate node id'));
    expect(duplicate('crm-copy').map((issue) => issue.message)).toEqual(['duplicate node id "crm" in the file; shown as "crm-copy" until you give it an id of its own']);
    expect(store.getState().issues).toContainEqual(duplicate('crm-copy')[0]);
    // A pasted copy has an id of its own.
    store.getState().selectOnly(['crm-copy']);
    store.getState().copySelection();
    store.getState().paste();
    expect(duplicate('trigger-1')).toEqual([]);
    expect(store.getState().renameNode('crm-copy', 'mkt')).toBeNull();
    expect(duplicate('mkt')).toEqual([]);
  });

  it('reports an unreachable runtime as a notice, without throwing', async () => {
    const { store } = storeWithChain();
    await store.getState().runNow();
    expect(store.getState().notice).toMatchObject({ tone: 'error' });
    expect(store.getState().notice?.text).toMatch(/not reachable/);
    expect(store.getState().server.reachable).toBe(false);
  });

  it('shows the issues a runtime refuses the flow with', async () => {
    const refusal = { error: { code: 'invalid_flow', message: 'the flow is not valid', path: '' }, issues: [{ path: 'nodes[0].config.connection.file', nodeId: 'trigger-1', message: 'file not found', severity: 'error' }] };
    const fetchStub: typeof fetch = async () => new Response(JSON.stringify(refusal), { status: 422, headers: { 'content-type': 'application/json' } });
    const store = createFlowStore(emptyFlow('t'), { ...deps, api: createApiClient(() => 'token', fetchStub) });
    expect(await store.getState().deploy()).toBe(false);
    expect(store.getState().serverIssues).toEqual(refusal.issues);
    expect(store.getState().drawer).toBe('issues');
    expect(store.getState().notice?.text).toBe('the flow is not valid');
  });
});
