import { FLOW_ID_PATTERN } from '../../nodes';
import type { FlowDraftState, FlowOverview } from '../../runtime/api/schemas';
import { ApiError } from '../api/client';
import { canvasFromDocument, documentFromCanvas } from '../document/canvasDocument';
import type { FlowsSliceActions, FlowsSliceState, SliceContext } from './types';

/** How long typing pauses before the draft is saved: long enough to send one save per burst, short enough to lose nothing. */
const SAVE_DELAY_MS = 400;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `base`, or the first `base-2`, `base-3`… no other flow has (within the 64 characters a flow id may have). */
export function freeFlowId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  const stem = base.replace(/-\d+$/, '').slice(0, 58) || 'flow';
  for (let n = 2; ; n += 1) if (!taken.has(`${stem}-${n}`)) return `${stem}-${n}`;
}

/** How a flow stands, in the words the editor shows: never deployed, deployed as drawn, or changed since. */
export function deployState(flow: { deployedVersion: number | null; changedSinceDeploy: boolean; deployed: boolean }): string {
  if (flow.deployedVersion === null) return 'Draft — not deployed';
  if (flow.changedSinceDeploy) return flow.deployed ? 'Changed since deploy' : 'Paused · changed since deploy';
  return flow.deployed ? 'Deployed' : 'Paused';
}

/**
 * The flows slice: which flow the canvas holds and where it stands with the runtime. Every edit is saved as the flow's
 * draft a moment after it is made (and kept in the browser until the runtime has it); what runs changes only on
 * Deploy. Anything that would replace the canvas first makes sure no edit is lost, and asks when it cannot.
 */
export function createFlowsSlice({ set, get, deps }: SliceContext): FlowsSliceState & FlowsSliceActions {
  const { api, backup } = deps;
  let saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** Saves run one after another: a slow save must not land after a newer one. */
  let saving: Promise<boolean> = Promise.resolve(true);
  /** Edits the person made since the flow was opened, and the count the last successful save included. */
  let edits = 0;
  let savedEdits = 0;

  const canvasBytes = () => deps.serialize(documentFromCanvas(get()));
  const knownFlow = (id: string) => get().overview?.find((flow) => flow.id === id);
  const flowName = () => get().meta.name || get().meta.id;

  /** Why the canvas cannot be saved under its id, or null. */
  function idProblem(id: string): string | null {
    if (!FLOW_ID_PATTERN.test(id)) return `the flow id "${id}" is not one the runtime can keep: use 1 to 64 letters, digits, "-" and "_" (Flow settings)`;
    const other = knownFlow(id);
    const { draftId, savedId } = get();
    if (other && id !== draftId && id !== savedId) return `another flow already has the id "${id}": give this one its own (Flow settings)`;
    return null;
  }

  async function saveOnce(): Promise<boolean> {
    const { meta, draftId } = get();
    const id = meta.id;
    const bytes = canvasBytes();
    const includes = edits;
    // Kept here until the runtime confirms it, so a reload or a lost connection cannot lose it.
    if (edits > savedEdits) backup.write(id, bytes);
    const problem = idProblem(id);
    if (problem) {
      set({ draft: { status: 'failed', savedAt: get().draft.savedAt, error: problem } });
      return false;
    }
    set({ draft: { status: 'saving', savedAt: get().draft.savedAt, error: null } });
    try {
      const { savedAt } = await api.saveDraft(id, bytes);
      savedEdits = includes;
      backup.remove(id);
      if (draftId !== null && draftId !== id) {
        // The flow was renamed: its work lives on under the new id only.
        backup.remove(draftId);
        if (!knownFlow(draftId)?.stored) void api.discardDraft(draftId).catch(() => undefined);
      }
      const newer = edits > includes;
      set({
        draft: { status: newer ? 'pending' : 'saved', savedAt, error: null },
        draftId: id,
        changedSinceDeploy: bytes !== get().deployedDocument,
        server: { ...get().server, reachable: true },
      });
      if (!knownFlow(id)) void get().loadOverview();
      return true;
    } catch (error) {
      if (edits > savedEdits) backup.write(id, bytes);
      const unreachable = error instanceof ApiError && error.unreachable;
      set({
        draft: { status: 'failed', savedAt: get().draft.savedAt, error: messageOf(error) },
        server: { ...get().server, reachable: unreachable ? false : get().server.reachable },
      });
      if (error instanceof ApiError && error.status === 401) get().openDialog('token');
      return false;
    }
  }

  /** Fetches a flow's draft state; reports a failure as a notice. */
  async function fetchDraftState(id: string): Promise<FlowDraftState | null> {
    try {
      return await api.draftState(id);
    } catch (error) {
      get().notify('error', `Could not open "${id}": ${messageOf(error)}`);
      return null;
    }
  }

  /** What the runtime holds of the flow: stored document, running or not, last deployed version. */
  function runtimeState(state: FlowDraftState | null): Partial<FlowsSliceState> & Record<string, unknown> {
    const stored = state !== null && state.stored !== null;
    return {
      savedId: stored ? state.id : null,
      savedDocument: stored ? deps.serialize(state.stored) : null,
      deployed: state?.deployed ?? false,
      deployedDocument: state?.version ? deps.serialize(state.version.document) : null,
      deployedVersion: state?.version?.version ?? null,
      draftId: state?.draft ? state.id : null,
      versions: null,
    };
  }

  /** Shows `document` on the canvas as the open flow, with what the runtime holds of it. */
  function place(document: unknown, state: FlowDraftState | null, unsaved: boolean) {
    get().replaceFlow(canvasFromDocument(document));
    edits = unsaved ? 1 : 0;
    savedEdits = 0;
    const runtime = runtimeState(state);
    set({
      ...runtime,
      // The counts of the flow shown before belong to its nodes, not to these.
      status: {},
      conflictStatus: {},
      statusOf: null,
      screen: 'canvas',
      dialog: null,
      draft: { status: unsaved ? 'pending' : state?.draft ? 'saved' : 'idle', savedAt: state?.draft?.savedAt ?? null, error: null },
      changedSinceDeploy: deps.serialize(document) !== runtime.deployedDocument,
    });
    void get().pollStatus();
  }

  return {
    screen: 'flows',
    overview: null,
    overviewError: null,
    draft: { status: 'idle', savedAt: null, error: null },
    draftId: null,
    deployedDocument: null,
    deployedVersion: null,
    changedSinceDeploy: false,
    versions: null,
    confirm: null,

    loadOverview: async () => {
      try {
        const { flows } = await api.overview();
        const open = flows.find((flow) => flow.id === get().savedId);
        set({
          overview: flows,
          overviewError: null,
          server: { ...get().server, reachable: true },
          // Paused or resumed elsewhere (the list, another tab): the open flow follows.
          ...(open && get().screen === 'canvas' ? { deployed: open.deployed } : {}),
        });
      } catch (error) {
        const unreachable = error instanceof ApiError && error.unreachable;
        set({ overviewError: messageOf(error), server: { ...get().server, reachable: unreachable ? false : get().server.reachable } });
        if (error instanceof ApiError && error.status === 401) get().openDialog('token');
      }
    },

    showFlows: () =>
      get().guardDiscard('go to the flow list', () => {
        set({ screen: 'flows', drawer: null, dialog: null });
        void get().loadOverview();
      }),

    openFlow: (id) =>
      get().guardDiscard('open another flow', async () => {
        let restored: unknown;
        const local = backup.read(id);
        if (local !== null) {
          try {
            restored = JSON.parse(local) as unknown;
          } catch {
            backup.remove(id);
          }
        }
        // A flow whose first save never reached the runtime exists in this browser only: it opens from there.
        const state = restored !== undefined ? await api.draftState(id).catch(() => null) : await fetchDraftState(id);
        if (restored === undefined && !state) return;
        place(restored ?? state?.draft?.document ?? state?.stored, state, restored !== undefined);
        if (restored !== undefined) {
          get().notify('info', 'Edits this browser kept, which had not reached the runtime, are back: saving them now.');
          void get().saveDraftNow();
        }
      }),

    startFlow: (document, origin) =>
      get().guardDiscard(origin === 'new' ? 'start a new flow' : 'import this flow', async () => {
        if (get().overview === null) await get().loadOverview();
        const migrated = deps.migrate(structuredClone(document));
        if (typeof migrated !== 'object' || migrated === null || Array.isArray(migrated) || typeof (migrated as { id?: unknown }).id !== 'string') {
          // Not a document with an id: shown as it is, with its issues, and kept nowhere until it has one.
          place(migrated, null, false);
          return;
        }
        const input = migrated as Record<string, unknown> & { id: string };
        const id = input.id;
        const existing: FlowOverview | undefined = knownFlow(id);
        const taken = new Set((get().overview ?? []).map((flow) => flow.id));
        const asNew = (flowId: string) => {
          place(flowId === id ? input : { ...input, id: flowId }, null, false);
          void get().saveDraftNow();
        };
        if (!existing) return asNew(id);
        const copyId = freeFlowId(id, taken);
        if (origin === 'new') return asNew(copyId);
        get().ask({
          title: `The runtime already has a flow “${id}”`,
          message: `“${existing.name}” has the id of the flow you are importing. Make the file its new draft (what runs stays as it is until you deploy), or import it as a new flow with the id “${copyId}”.`,
          choices: [
            {
              label: `Make it the draft of “${id}”`,
              run: async () => {
                const state = await fetchDraftState(id);
                if (!state) return;
                place(input, state, false);
                // The file replaces that flow's draft: it counts as an edit, so it is saved and kept like one.
                get().noteEdit();
              },
            },
            { label: `Import as “${copyId}”`, tone: 'primary', run: () => asNew(copyId) },
          ],
          cancelLabel: 'Cancel',
        });
      }),

    saveDraftNow: () => {
      clearTimeout(saveTimer);
      saveTimer = undefined;
      saving = saving.then(saveOnce, saveOnce);
      return saving;
    },

    noteEdit: () => {
      edits += 1;
      // What the runtime refused was the flow before this edit.
      if (get().serverIssues !== null) set({ serverIssues: null });
      if (get().draft.status !== 'pending') set({ draft: { ...get().draft, status: 'pending' } });
      clearTimeout(saveTimer);
      saveTimer = setTimeout(() => void get().saveDraftNow(), SAVE_DELAY_MS);
    },

    keepUnsavedLocally: () => {
      if (get().screen === 'canvas' && edits > savedEdits) backup.write(get().meta.id, canvasBytes());
    },

    pauseFlow: async (id = get().savedId ?? '') => {
      set({ busy: 'pause' });
      try {
        await api.pause(id);
        if (id === get().savedId) set({ deployed: false });
        get().notify('info', `Paused “${knownFlow(id)?.name ?? id}”: its triggers are stopped until you resume it.`);
      } catch (error) {
        get().notify('error', `Could not pause: ${messageOf(error)}`);
      } finally {
        set({ busy: null });
      }
      await get().loadOverview();
    },

    resumeFlow: async (id = get().savedId ?? '') => {
      set({ busy: 'pause' });
      try {
        await api.deploy(id);
        if (id === get().savedId) set({ deployed: true });
        get().notify('info', `Resumed “${knownFlow(id)?.name ?? id}”: its deployed version runs again.`);
      } catch (error) {
        get().notify('error', `Could not resume: ${messageOf(error)}`);
      } finally {
        set({ busy: null });
      }
      await get().loadOverview();
    },

    deleteFlow: (id) => {
      const flow = knownFlow(id);
      const name = flow?.name ?? (get().meta.id === id ? flowName() : id);
      const stored = flow ? flow.stored : get().savedId === id;
      get().ask({
        title: `Delete the flow “${name}”?`,
        message: stored
          ? 'Its triggers stop, and its sync state, run history, draft and deployed versions are removed. The records in the connected systems stay as they are. This cannot be undone.'
          : 'Its draft is removed. Nothing was deployed, so no system is touched. This cannot be undone.',
        choices: [
          {
            label: 'Delete flow',
            tone: 'danger',
            run: async () => {
              set({ busy: 'delete' });
              try {
                if (stored) await api.deleteFlow(id);
                else await api.discardDraft(id).catch((error: unknown) => {
                  // A draft never saved to the runtime lives in this browser only.
                  if (!(error instanceof ApiError && error.status === 404)) throw error;
                });
                backup.remove(id);
                if (get().meta.id === id || get().savedId === id) {
                  // Nothing of it is left to lose: back to the list without asking.
                  edits = savedEdits = 0;
                  set({ screen: 'flows', drawer: null, savedId: null, draftId: null, draft: { status: 'idle', savedAt: null, error: null } });
                }
                get().notify('info', `Deleted “${name}”.`);
              } catch (error) {
                get().notify('error', `Could not delete “${name}”: ${messageOf(error)}`);
              } finally {
                set({ busy: null });
              }
              await get().loadOverview();
            },
          },
        ],
        cancelLabel: 'Keep it',
      });
    },

    loadVersions: async () => {
      const id = get().savedId;
      if (!id) return set({ versions: [] });
      try {
        set({ versions: await api.versions(id) });
      } catch (error) {
        get().notify('error', `Could not list the versions: ${messageOf(error)}`);
      }
    },

    restoreVersion: async (version) => {
      const id = get().savedId;
      if (!id) return;
      let found;
      try {
        found = await api.version(id, version);
      } catch (error) {
        get().notify('error', `Could not read version ${version}: ${messageOf(error)}`);
        return;
      }
      const restore = () => {
        const flow = canvasFromDocument(found.document);
        // An edit like any other (one undo step), not a new flow: what the runtime holds of the flow stays as it is.
        set({ meta: flow.meta, nodes: flow.nodes, edges: flow.edges, viewRevision: get().viewRevision + 1 });
        get().noteEdit();
        get().notify('info', `Version ${version} is on the canvas as the draft. Deploy to run it.`);
      };
      if (!get().changedSinceDeploy && get().draft.status !== 'pending') return restore();
      get().ask({
        title: `Restore version ${version}?`,
        message: `The canvas becomes version ${version}, deployed ${new Date(found.deployedAt).toLocaleString()}, in place of your changes since the last deploy. Undo brings the changes back while this flow stays open.`,
        choices: [{ label: `Restore version ${version}`, tone: 'primary', run: restore }],
        cancelLabel: 'Cancel',
      });
    },

    ask: (confirm) => set({ confirm }),
    closeConfirm: () => set({ confirm: null }),

    guardDiscard: async (what, action) => {
      if (get().screen !== 'canvas' || edits === savedEdits) return action();
      if (await get().saveDraftNow()) return action();
      get().ask({
        title: 'Your latest edits are not saved',
        message: `The runtime did not take your latest edits to “${flowName()}”: ${get().draft.error ?? 'it did not answer'}. This browser keeps a copy and brings it back when you open this flow here again, but nowhere else has them.`,
        choices: [
          {
            label: `Leave them and ${what}`,
            tone: 'danger',
            run: () => {
              edits = savedEdits = 0;
              void action();
            },
          },
        ],
        cancelLabel: 'Stay and keep editing',
      });
    },
  };
}
