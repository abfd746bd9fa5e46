import { isRecord } from '../../nodes/flow/values';
import { ApiError } from '../api/client';
import { documentFromCanvas } from '../document/canvasDocument';
import { projectSample, sampleRoute } from '../forms/sampleRecord';
import type { Busy, RunsSliceActions, RunsSliceState, SliceContext } from './types';

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

  /**
   * Makes sure the runtime stores the flow, so it can run: a flow that is only a draft is imported. A stored flow
   * that never ran takes the canvas (nothing runs it yet); one that was deployed keeps what was deployed, since
   * only Deploy changes what runs. Returns the id.
   */
  async function ensureStored(): Promise<string> {
    const { meta, savedId, savedDocument, deployedVersion, deployed } = get();
    const body = deps.serialize(documentFromCanvas(get()));
    if (savedId === meta.id && (deployedVersion !== null || deployed || savedDocument === body)) return savedId;
    if (savedId === meta.id) await api.replaceFlow(meta.id, body);
    else await api.createFlow(body);
    set({ savedId: meta.id, savedDocument: body, serverIssues: null });
    return meta.id;
  }

  /** The canvas as a document to plan, when it differs from what the runtime stores; undefined when it is the same. */
  function draftToPlan(): string | undefined {
    const body = deps.serialize(documentFromCanvas(get()));
    return body === get().savedDocument ? undefined : body;
  }

  const RUNS_PAGE = 50;
  /** Records read for a sample: the first that reaches the node is the one tried (a filter on the way may drop some). */
  const SAMPLE_RECORDS = 5;

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
    runFilter: 'all',
    runsComplete: false,
    openRun: null,
    conflicts: null,
    status: {},
    conflictStatus: {},
    statusOf: null,
    described: {},

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
      await get().saveDraftNow();
      const ok = await attempt('deploy', async () => {
        const { meta, savedId, savedDocument } = get();
        const body = deps.serialize(documentFromCanvas(get()));
        if (savedId !== meta.id) await api.createFlow(body);
        else if (savedDocument !== body) await api.replaceFlow(meta.id, body);
        set({ savedId: meta.id, savedDocument: body, serverIssues: null });
        await api.deploy(meta.id);
        return body;
      });
      if (ok === undefined) return false;
      set({ deployed: true, deployedDocument: ok, changedSinceDeploy: false, versions: null });
      // The runtime numbered the version; read it back with the rest of the flow's state.
      const state = await api.draftState(get().meta.id).catch(() => null);
      if (state?.version) set({ deployedVersion: state.version.version, deployedDocument: deps.serialize(state.version.document) });
      get().notify('info', `Deployed "${get().meta.id}"${state?.version ? ` as version ${state.version.version}` : ''}: its triggers are running.`);
      void get().loadOverview();
      return true;
    },

    runNow: async () => {
      const result = await attempt('run', async () => api.run(await ensureStored()));
      if (result) {
        set({ lastRun: result });
        // What ran is what the runtime stores; the canvas may hold a draft beyond it.
        const draftNotRun = draftToPlan() !== undefined ? ' It ran the deployed version: your changes since are a draft until you deploy.' : '';
        if (result.status !== 'ok' || !result.summary) {
          get().notify('error', `The run ${result.status === 'stopped' ? 'stopped' : 'failed'}: ${result.error ?? 'see the run history for details'}${draftNotRun}`);
        } else {
          const { created, updated, deleted, echoes, conflicts, failed } = result.summary;
          const quiet = created + updated + deleted + conflicts + failed === 0;
          get().notify(
            failed > 0 ? 'error' : 'info',
            quiet
              ? // A pass that finds nothing to do looks like a button that did nothing: say what it checked.
                `Run finished: every side was already in step, nothing to write${echoes > 0 ? ` (${echoes} echoes of the runtime's own writes dropped)` : ''}.${draftNotRun}`
              : `Run finished: ${created} created, ${updated} updated, ${deleted} deleted, ${echoes} echoes dropped, ${conflicts} conflicts, ${failed} failed.${draftNotRun}`,
          );
        }
        void get().pollStatus();
        if (get().drawer === 'runs') void get().loadRuns();
        if (get().drawer === 'conflicts') void get().loadConflicts();
        void get().loadOverview();
      }
    },

    runDry: async () => {
      set({ drawer: 'dry-run', dryRun: null });
      const result = await attempt('dry-run', async () => {
        const id = await ensureStored();
        // Changes not deployed yet are what a person wants to see the effect of: plan the canvas, not what runs.
        return api.dryRun(id, draftToPlan());
      });
      if (!result) return;
      set({ dryRun: result.sides });
      if (result.status !== undefined && result.status !== 'ok') {
        set({ apiError: `The dry run ${result.status === 'stopped' ? 'stopped' : 'failed'}: ${result.error ?? 'see the run history for details'}` });
      }
    },

    loadRuns: async (filter = get().runFilter) => {
      set({ runFilter: filter });
      const flowId = get().savedId;
      if (!flowId) return set({ runs: [], runsComplete: true });
      const runs = await attempt('runs', () => api.runs(flowId, { filter, limit: RUNS_PAGE }));
      // A page answered for a filter the person has since left is not shown.
      if (runs && get().runFilter === filter) set({ runs, runsComplete: runs.length < RUNS_PAGE });
    },

    loadOlderRuns: async () => {
      const { savedId, runs, runFilter } = get();
      const last = runs?.at(-1);
      if (!savedId || !last) return;
      const older = await attempt('runs', () => api.runs(savedId, { filter: runFilter, before: last.id, limit: RUNS_PAGE }));
      if (older && get().runFilter === runFilter && get().runs?.at(-1)?.id === last.id) {
        set({ runs: [...(get().runs ?? []), ...older], runsComplete: older.length < RUNS_PAGE });
      }
    },

    openRunLog: async (runId) => {
      const openRun = await attempt('runs', () => api.runLog(runId));
      if (openRun) set({ openRun });
    },

    loadConflicts: async () => {
      const flowId = get().savedId;
      if (!flowId) return set({ conflicts: [] });
      const conflicts = await attempt('conflicts', () => api.conflicts(flowId));
      if (conflicts) set({ conflicts });
    },

    resolveConflict: async (id, resolution) => {
      const done = await attempt('conflicts', async () => {
        await api.resolveConflict(id, resolution);
        return true;
      });
      if (done) {
        const kind = get().conflicts?.find((conflict) => conflict.id === id)?.kind;
        get().notify('info', kind === 'mass-delete' ? 'Deletes let through: the next pass makes them.' : 'Conflict resolved: the chosen value is written on the next pass.');
        await get().loadConflicts();
      }
    },

    pollStatus: async () => {
      const flowId = get().savedId;
      if (!flowId) {
        if (get().statusOf !== null) set({ status: {}, conflictStatus: {}, statusOf: null });
        return;
      }
      try {
        const answer = await api.status(flowId);
        // An answer about a flow no longer open says nothing about this canvas's nodes (they may share ids).
        if (get().savedId !== flowId) return;
        const previous = get().statusOf === flowId ? get().status : {};
        const status: RunsSliceState['status'] = {};
        // Keep unchanged entries by reference so only the node whose counts moved re-renders.
        for (const [nodeId, entry] of Object.entries(isRecord(answer.nodes) ? answer.nodes : {})) {
          const before = previous[nodeId];
          status[nodeId] = before && JSON.stringify(before) === JSON.stringify(entry) ? before : entry;
        }
        const conflictStatus: RunsSliceState['conflictStatus'] = {};
        for (const [nodeId, entry] of Object.entries(isRecord(answer.conflictNodes) ? answer.conflictNodes : {})) conflictStatus[nodeId] = entry.openConflicts;
        set({ status, conflictStatus, statusOf: flowId });
      } catch {
        // A missed poll is not worth a notice: the next one tries again, and explicit actions report errors.
      }
    },

    sampleRecord: async (nodeId) => {
      const { nodes, edges } = get();
      const route = sampleRoute(nodes, edges, nodeId);
      if (!route) return { ok: false, message: 'No trigger is connected to this node yet: connect one to try it on a real record.' };
      const trigger = nodes.find((node) => node.id === route.triggerId);
      let records;
      try {
        ({ records } = await api.sample(trigger?.data.config, SAMPLE_RECORDS));
      } catch (error) {
        return { ok: false, message: `Could not read a record of "${route.triggerId}": ${error instanceof Error ? error.message : String(error)}` };
      }
      if (records.length === 0) return { ok: false, message: `"${route.triggerId}" holds no records yet to try this on.` };
      let why = '';
      for (const record of records) {
        const projected = await projectSample(get().nodes, route, record.fields);
        if (projected.kind === 'pass') return { ok: true, record: projected.record, triggerId: route.triggerId, recordId: record.id };
        why = projected.kind === 'drop' ? `"${projected.nodeId}" let none of them through (${projected.reason})` : projected.message;
      }
      return { ok: false, message: `The first ${records.length} records of "${route.triggerId}" do not reach this node: ${why}.` };
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
  };
}
