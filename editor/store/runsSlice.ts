import { ApiError } from '../api/client';
import { canvasFromDocument, documentFromCanvas } from '../document/canvasDocument';
import type { Busy, RunsSliceActions, RunsSliceState, SliceContext } from './types';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The runs slice: saving, deploying and running the flow on the runtime, and what the runtime reports back. */
export function createRunsSlice({ set, get, deps }: SliceContext): RunsSliceState & RunsSliceActions {
  const { api } = deps;

  /** Runs one API call with `busy` set; reports a failure as a notice and in `apiError`, never as a thrown error. */
  async function attempt<T>(busy: Busy, call: () => Promise<T>): Promise<T | undefined> {
    set({ busy, apiError: null });
    try {
      const result = await call();
      set({ server: { ...get().server, reachable: true } });
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const unreachable = error instanceof ApiError && error.unreachable;
      let detail = message;
      if (error instanceof ApiError && error.issues.length > 0) {
        detail = `${message}\n${error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n')}`;
      }
      set({ apiError: detail, server: { ...get().server, reachable: unreachable ? false : get().server.reachable } });
      if (error instanceof ApiError && error.status === 401) get().openDialog('token');
      if (error instanceof ApiError && error.issues.length > 0) {
        set({ serverIssues: error.issues });
        get().openDrawer('issues');
      }
      get().notify('error', message);
      return undefined;
    } finally {
      set({ busy: null });
    }
  }

  /** Saves the canvas on the runtime when it differs from what was saved last; returns the saved id. */
  async function ensureSaved(): Promise<string> {
    const { meta, savedId, savedDocument } = get();
    const body = deps.serialize(documentFromCanvas(get()));
    if (savedId === meta.id && savedDocument === body) return savedId;
    let id = meta.id;
    if (savedId === meta.id) {
      await api.replaceFlow(id, body);
    } else {
      try {
        id = (await api.createFlow(body)).id ?? meta.id;
      } catch (error) {
        // The runtime already holds a flow with this id (saved in an earlier session): replace it.
        if (!(error instanceof ApiError) || error.status !== 409) throw error;
        await api.replaceFlow(id, body);
      }
    }
    set({ savedId: id, savedDocument: body, serverIssues: null });
    return id;
  }

  return {
    server: { reachable: null, connectors: null, credentials: null },
    savedId: null,
    savedDocument: null,
    deployed: false,
    busy: null,
    apiError: null,
    serverIssues: null,
    lastRun: null,
    dryRun: null,
    runs: null,
    openRun: null,
    conflicts: null,
    status: {},
    described: {},
    serverFlows: null,

    probeServer: async () => {
      try {
        const [connectors, credentials] = await Promise.all([api.connectors(), api.credentials()]);
        set({ server: { reachable: true, connectors, credentials } });
      } catch (error) {
        const unreachable = error instanceof ApiError && error.unreachable;
        set({ server: { reachable: !unreachable, connectors: null, credentials: null } });
        if (error instanceof ApiError && error.status === 401) get().openDialog('token');
      }
    },

    deploy: async () => {
      const ok = await attempt('deploy', async () => {
        const id = await ensureSaved();
        await api.deploy(id);
        return true;
      });
      if (ok) {
        set({ deployed: true });
        get().notify('info', `Deployed "${get().meta.id}": its triggers are running.`);
      }
      return ok === true;
    },

    runNow: async () => {
      const result = await attempt('run', async () => api.run(await ensureSaved()));
      if (result) {
        set({ lastRun: result });
        if (result.status !== 'ok' || !result.summary) {
          get().notify('error', `The run ${result.status === 'stopped' ? 'stopped' : 'failed'}: ${result.error ?? 'see the run history for details'}`);
        } else {
          const { created, updated, deleted, echoes, conflicts, failed } = result.summary;
          get().notify(
            failed > 0 ? 'error' : 'info',
            `Run finished: ${created} created, ${updated} updated, ${deleted} deleted, ${echoes} echoes dropped, ${conflicts} conflicts, ${failed} failed.`,
          );
        }
        void get().pollStatus();
        if (get().drawer === 'runs') void get().loadRuns();
        if (get().drawer === 'conflicts') void get().loadConflicts();
      }
    },

    runDry: async () => {
      set({ drawer: 'dry-run', dryRun: null });
      const result = await attempt('dry-run', async () => api.dryRun(await ensureSaved()));
      if (!result) return;
      set({ dryRun: result.sides });
      if (result.status !== undefined && result.status !== 'ok') {
        set({ apiError: `The dry run ${result.status === 'stopped' ? 'stopped' : 'failed'}: ${result.error ?? 'see the run history for details'}` });
      }
    },

    loadRuns: async () => {
      const runs = await attempt('runs', () => api.runs(get().savedId ?? get().meta.id));
      if (runs) set({ runs });
    },

    openRunLog: async (runId) => {
      const openRun = await attempt('runs', () => api.runLog(runId));
      if (openRun) set({ openRun });
    },

    loadConflicts: async () => {
      const conflicts = await attempt('conflicts', () => api.conflicts(get().savedId ?? get().meta.id));
      if (conflicts) set({ conflicts });
    },

    resolveConflict: async (id, resolution) => {
      const done = await attempt('conflicts', async () => {
        await api.resolveConflict(id, resolution);
        return true;
      });
      if (done) {
        get().notify('info', 'Conflict resolved: the chosen value is written on the next pass.');
        await get().loadConflicts();
      }
    },

    pollStatus: async () => {
      const flowId = get().savedId;
      if (!flowId) return;
      try {
        const { nodes } = await api.status(flowId);
        const previous = get().status;
        const status: RunsSliceState['status'] = {};
        // Keep unchanged entries by reference so only the trigger whose status moved re-renders.
        for (const [nodeId, entry] of Object.entries(isRecord(nodes) ? nodes : {})) {
          const before = previous[nodeId];
          status[nodeId] =
            before && before.lastPassAt === entry.lastPassAt && before.synced === entry.synced && before.failing === entry.failing ? before : entry;
        }
        set({ status });
      } catch {
        // A missed poll is not worth a notice: the next one tries again, and explicit actions report errors.
      }
    },

    describeTrigger: async (nodeId) => {
      const node = get().nodes.find((candidate) => candidate.id === nodeId);
      const config = node?.data.config;
      if (!node || !isRecord(config) || typeof config.connector !== 'string' || !isRecord(config.connection)) return;
      // A connection still being filled in would only earn an error about its empty fields.
      if (Object.values(config.connection).some((value) => value === '')) return;
      if (get().server.reachable === false) return;
      const collection = typeof config.collection === 'string' && config.collection !== '' ? config.collection : undefined;
      const signature = JSON.stringify([config.connector, config.connection, collection]);
      if (get().described[nodeId]?.signature === signature) return;
      set({ described: { ...get().described, [nodeId]: { signature, collections: null, error: null } } });
      try {
        const { collections } = await api.describe(config.connector, config.connection, collection);
        set({ described: { ...get().described, [nodeId]: { signature, collections, error: null } } });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        set({ described: { ...get().described, [nodeId]: { signature, collections: null, error: message } } });
      }
    },

    listServerFlows: async () => {
      const flows = await attempt('open', () => api.listFlows());
      if (flows) set({ serverFlows: flows });
    },

    openServerFlow: async (id) => {
      const document = await attempt('open', () => api.getFlow(id));
      if (document === undefined) return;
      get().replaceFlow(canvasFromDocument(document));
      const deployed = get().serverFlows?.find((flow) => flow.id === id)?.deployed ?? false;
      set({ savedId: id, savedDocument: deps.serialize(document), deployed, dialog: null });
      void get().pollStatus();
    },
  };
}
