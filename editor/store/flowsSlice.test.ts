import { describe, expect, it } from 'vitest';
import { serializeFlow } from '../../nodes/flow/jsonText';
import { loadFlow } from '../../nodes/flow/load';
import { createApiClient } from '../api/client';
import { createFlowStore } from './createFlowStore';
import { memoryDraftBackup } from './draftBackup';
import { STORED_FLOW_ID } from './flowSlice';
import { deployState, freeFlowId } from './flowsSlice';
import type { StoreDeps } from './types';

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A runtime that holds one stored, deployed flow `people` and takes drafts while `accepting`. */
function fakeRuntime() {
  const drafts = new Map<string, string>();
  const state = { accepting: true };
  const stored = { format: 'syncline.flow', version: 1, id: 'people', name: 'People', nodes: [], edges: [] };
  /** Every call, as `METHOD url`. */
  const calls: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    calls.push(`${method} ${url}`);
    if (url === '/api/overview') return json({ flows: [{ id: 'people', name: 'People', stored: true, deployed: true, version: { version: 1, deployedAt: 'x' }, draft: null, health: null }] });
    const draft = /^\/api\/flows\/([^/]+)\/draft$/.exec(url);
    if (draft && method === 'PUT') {
      if (!state.accepting) throw new TypeError('connection refused');
      drafts.set(draft[1] as string, String(init?.body));
      return json({ id: draft[1], savedAt: '2026-12-03T12:00:00.000Z' });
    }
    if (draft && method === 'GET') return json({ id: 'people', deployed: true, stored, draft: null, version: { version: 1, deployedAt: 'x', document: stored } });
    return json({ error: { code: 'not_found', message: `no route ${method} ${url}`, path: '' } }, 404);
  };
  return { drafts, state, calls, fetchImpl };
}

function storeOn(runtime: ReturnType<typeof fakeRuntime>) {
  const backup = memoryDraftBackup();
  const deps: StoreDeps = {
    api: createApiClient(() => 'token', runtime.fetchImpl),
    validate: (document) => loadFlow(document).issues,
    migrate: (document) => loadFlow(document).migrated,
    serialize: (document) => serializeFlow(loadFlow(document).migrated),
    backup,
  };
  return { store: createFlowStore(undefined, deps), backup };
}

describe('the flows slice', () => {
  it('names a free flow id and says how a flow stands', () => {
    expect(freeFlowId('leads', new Set())).toBe('leads');
    expect(freeFlowId('leads', new Set(['leads', 'leads-2']))).toBe('leads-3');
    expect(freeFlowId('leads-2', new Set(['leads-2']))).toBe('leads-3');
    expect(freeFlowId('x'.repeat(64), new Set(['x'.repeat(64)]))).toHaveLength(60);
    expect(deployState({ deployedVersion: null, changedSinceDeploy: true, deployed: false })).toBe('Draft — not deployed');
    expect(deployState({ deployedVersion: 2, changedSinceDeploy: false, deployed: true })).toBe('Deployed');
    expect(deployState({ deployedVersion: 2, changedSinceDeploy: true, deployed: true })).toBe('Changed since deploy');
    expect(deployState({ deployedVersion: 2, changedSinceDeploy: false, deployed: false })).toBe('Paused');
  });

  it('saves edits as the draft, keeping them in the browser until the runtime has them', async () => {
    const runtime = fakeRuntime();
    const { store, backup } = storeOn(runtime);
    await store.getState().openFlow('people');
    expect(store.getState()).toMatchObject({ screen: 'canvas', deployedVersion: 1, changedSinceDeploy: false, draft: { status: 'idle' } });

    runtime.state.accepting = false;
    store.getState().setMeta({ name: 'People, renamed' });
    expect(store.getState().draft.status).toBe('pending');
    expect(await store.getState().saveDraftNow()).toBe(false);
    expect(store.getState().draft).toMatchObject({ status: 'failed', error: expect.stringMatching(/not reachable/) });
    expect(JSON.parse(backup.read('people') as string)).toMatchObject({ name: 'People, renamed' });

    runtime.state.accepting = true;
    expect(await store.getState().saveDraftNow()).toBe(true);
    expect(store.getState()).toMatchObject({ draft: { status: 'saved' }, changedSinceDeploy: true });
    expect(backup.read('people')).toBeNull();
    expect(JSON.parse(runtime.drafts.get('people') as string)).toMatchObject({ name: 'People, renamed' });
  });

  it('asks before leaving edits the runtime refused, and not when it has them', async () => {
    const runtime = fakeRuntime();
    const { store } = storeOn(runtime);
    await store.getState().openFlow('people');
    let left = 0;
    store.getState().setMeta({ name: 'Saved before leaving' });
    await store.getState().guardDiscard('leave', () => void (left += 1));
    expect({ left, confirm: store.getState().confirm }).toEqual({ left: 1, confirm: null });

    runtime.state.accepting = false;
    store.getState().setMeta({ name: 'Refused' });
    await store.getState().guardDiscard('leave', () => void (left += 1));
    expect(left).toBe(1);
    const question = store.getState().confirm;
    expect(question?.title).toBe('Your latest edits are not saved');
    question?.choices[0]?.run();
    expect(left).toBe(2);
  });

  it('refuses to save a draft under another flow’s id or an id the runtime cannot keep', async () => {
    const runtime = fakeRuntime();
    const { store } = storeOn(runtime);
    await store.getState().startFlow({ format: 'syncline.flow', version: 1, id: 'sketch', name: 'Sketch', nodes: [], edges: [] }, 'new');
    expect(store.getState().meta.id).toBe('sketch');
    await store.getState().saveDraftNow();
    store.getState().setMeta({ id: 'people' });
    expect(await store.getState().saveDraftNow()).toBe(false);
    expect(store.getState().draft.error).toMatch(/another flow already has the id "people"/);
    store.getState().setMeta({ id: 'has space' });
    expect(await store.getState().saveDraftNow()).toBe(false);
    expect(store.getState().draft.error).toMatch(/not one the runtime can keep/);
    expect([...runtime.drafts.keys()]).toEqual(['sketch']);
  });

  it('keeps the id of a flow the runtime stores, so Deploy cannot start a second flow beside it', async () => {
    const runtime = fakeRuntime();
    const { store } = storeOn(runtime);
    await store.getState().openFlow('people');
    store.getState().setMeta({ id: 'tickets', name: 'People and tickets' });
    expect(store.getState().meta).toMatchObject({ id: 'people', name: 'People and tickets' });
    expect(store.getState().notice?.text).toBe(STORED_FLOW_ID);
    await store.getState().deploy();
    expect(runtime.calls).not.toContain('POST /api/flows');
    expect(runtime.calls).toContain('PUT /api/flows/people');
  });

  it('gives a template whose id a flow has a free one', async () => {
    const { store } = storeOn(fakeRuntime());
    await store.getState().startFlow({ format: 'syncline.flow', version: 1, id: 'people', name: 'People template', nodes: [], edges: [] }, 'new');
    expect(store.getState().meta.id).toBe('people-2');
  });
});
